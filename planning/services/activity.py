from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planning.models import Activity

if TYPE_CHECKING:
    from accounts.models import User
    from planning.models import Milestone


def record(
    milestone: Milestone, actor: User | None, verb: str, summary: str, **data: Any
) -> Activity:
    """Leave the row that puts a state change on the milestone's timeline."""
    return Activity.objects.create(
        milestone=milestone, actor=actor, verb=verb, summary=summary, data=data
    )
