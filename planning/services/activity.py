from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notifications.services import absolute
from notifications.webhooks import queue_event
from planning.models import Activity

if TYPE_CHECKING:
    from accounts.models import User
    from planning.models import DesignReview, Milestone


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


def record_review_change(
    review: DesignReview,
    actor: User,
    verb: str,
    summary: str,
    event: str,
    **data: Any,
) -> Activity:
    """The Activity row of a change in a design review, and the same news for the squad's webhook.

    `data` goes into both; the event adds the review's address. Posted once the transaction commits.
    """
    milestone = review.milestone
    row = record(milestone, actor, verb, summary, review=review.pk, **data)
    queue_event(
        milestone.project.squad,
        event,
        f"{milestone.project.name} M{milestone.number}: {row.summary}",
        {
            "review": review.pk,
            "round": review.round,
            "milestone": milestone.pk,
            "actor": actor.username,
            **data,
            "url": absolute(review.get_absolute_url()),
        },
    )
    return row
