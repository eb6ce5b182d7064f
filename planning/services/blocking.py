"""Blocking comments (DESIGN §8): a counted reviewer's objection that holds close-as-approved.

Only its author resolves it; the project's principal engineer may overrule it
with a note. The approval rule (`workflow.approval_unmet`) counts the open
ones through `reviews.open_blocking_comments`; everything here runs under the
review's lock, which the close takes before it counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from planning.models import Comment, DesignReview
from planning.services.activity import fit, record_review_change
from planning.services.locks import lock_review
from squads.access import Action, require

if TYPE_CHECKING:
    from accounts.models import User

# How much of a comment its Activity row and notifications quote.
QUOTE_LENGTH = 120


def quote(comment: Comment) -> str:
    return fit(" ".join(comment.body.split()), QUOTE_LENGTH)


def check_may_block(actor: User, review: DesignReview, parent: Comment | None) -> None:
    """Refuse unless `actor` may raise a blocking comment here: a counted reviewer, on a thread."""
    require(actor, Action.MARK_BLOCKING, review)
    if parent is not None:
        raise ValidationError(
            {"blocking": "A reply cannot block: mark the comment that starts the thread."}
        )


def announce_blocking(actor: User, comment: Comment) -> None:
    """The Activity row, the webhook event and the tech lead's notification of a new blocker."""
    review = comment.review
    milestone = review.milestone
    record_review_change(
        review,
        actor,
        "comment_blocking",
        f"{actor.display_name} raised a blocking comment in design review {review.round}: "
        f"“{quote(comment)}”",
        "review.comment_blocking",
        comment=comment.pk,
        author=actor.display_name,
        quote=quote(comment),
    )
    if milestone.tech_lead_id != actor.pk:
        notify(
            milestone.tech_lead,
            Notification.Kind.BLOCKING_COMMENT,
            f"{actor.display_name} raised a blocking comment in design review {review.round} of "
            f"M{milestone.number}: “{quote(comment)}”. The review cannot close approved until "
            "its author resolves it or the principal engineer overrules it.",
            f"{review.get_absolute_url()}#comment-{comment.pk}",
        )


def announce_resolution(actor: User, comment: Comment) -> None:
    """A blocking comment resolved by its author, or reopened by them."""
    review = comment.review
    verb, event, done = (
        ("blocking_resolved", "review.comment_resolved", "resolved their blocking comment")
        if comment.resolved
        else ("blocking_reopened", "review.comment_reopened", "reopened their blocking comment")
    )
    record_review_change(
        review,
        actor,
        verb,
        f"{actor.display_name} {done} in design review {review.round}: “{quote(comment)}”",
        event,
        comment=comment.pk,
        author=actor.display_name,
        quote=quote(comment),
    )


def _locked(comment: Comment) -> tuple[DesignReview, Comment]:
    """The comment's review (locked, with its milestone) and the comment read afresh under it."""
    review = lock_review(comment.review)
    locked = (
        Comment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("author")
        .get(pk=comment.pk)
    )
    locked.review = review
    if review.status == DesignReview.Status.CLOSED:
        raise ValidationError("The review is closed.")
    return review, locked


@transaction.atomic
def mark_blocking(actor: User, comment: Comment) -> Comment:
    """Mark one's own comment blocking after posting it (a counted reviewer's only)."""
    require(actor, Action.REVIEW, comment.review)
    require(actor, Action.EDIT_COMMENT, comment)
    review, comment = _locked(comment)
    check_may_block(actor, review, comment.parent)
    if comment.blocking:
        return comment
    comment.blocking = True
    comment.resolved = False
    comment.save(update_fields=["blocking", "resolved", "updated_at"])
    announce_blocking(actor, comment)
    return comment


@transaction.atomic
def overrule_comment(actor: User, comment: Comment, note: str) -> Comment:
    """The principal engineer lets the review close approved despite a blocking comment, saying why."""
    require(actor, Action.REVIEW, comment.review)
    require(actor, Action.OVERRULE_COMMENT, comment)
    review, comment = _locked(comment)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say why the blocking comment is overruled."})
    if not comment.blocking:
        raise ValidationError("Only a blocking comment can be overruled.")
    if comment.resolved or comment.overruled_at is not None:
        raise ValidationError("This blocking comment is already settled.")
    comment.overruled_by = actor
    comment.overrule_note = note
    comment.overruled_at = timezone.now()
    comment.save(update_fields=["overruled_by", "overrule_note", "overruled_at", "updated_at"])
    author = comment.author
    record_review_change(
        review,
        actor,
        "comment_overruled",
        f"{actor.display_name} overruled the blocking comment of "
        f"{author.display_name if author else 'a former member'} in design review "
        f"{review.round}: {note}",
        "review.comment_overruled",
        comment=comment.pk,
        author=author.display_name if author else "",
        quote=quote(comment),
        note=note,
    )
    milestone = review.milestone
    link = f"{review.get_absolute_url()}#comment-{comment.pk}"
    where = f"in design review {review.round} of M{milestone.number} (“{quote(comment)}”): {note}"
    if author is not None and author != actor:
        notify(
            author,
            Notification.Kind.COMMENT_OVERRULED,
            f"{actor.display_name} overruled your blocking comment {where}",
            link,
        )
    if milestone.tech_lead not in (author, actor):
        notify(
            milestone.tech_lead,
            Notification.Kind.COMMENT_OVERRULED,
            f"{actor.display_name} overruled the blocking comment of "
            f"{author.display_name if author else 'a former member'} {where}",
            link,
        )
    return comment
