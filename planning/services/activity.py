from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planning.models import Activity

if TYPE_CHECKING:
    from accounts.models import User
    from planning.models import Milestone


SUMMARY_LENGTH: int = Activity._meta.get_field("summary").max_length or 300


def fit(text: str, length: int) -> str:
    """`text` within `length` characters: cut, with an ellipsis, when it is longer.

    A text built from what people typed (a name, a title, a note) can be longer
    than the column that keeps it, though each part was within its own limit.
    """
    if len(text) <= length:
        return text
    return text[: length - 1].rstrip() + "…"


def record(
    milestone: Milestone, actor: User | None, verb: str, summary: str, **data: Any
) -> Activity:
    """Leave the row that puts a state change on the milestone's timeline."""
    return Activity.objects.create(
        milestone=milestone,
        actor=actor,
        verb=verb,
        summary=fit(summary, SUMMARY_LENGTH),
        data=data,
    )
