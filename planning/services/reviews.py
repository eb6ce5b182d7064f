"""Design reviews: schedule, invite, open, comment, give verdicts, close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils import timezone

from notifications.delivery import queue_deliveries
from notifications.models import Notification
from notifications.services import Message, absolute, notify, notify_many
from notifications.webhooks import queue_event
from planning import blocks, workflow
from planning.calendar import review_ics
from planning.exceptions import GuardRefused
from planning.models import Artifact, Comment, DesignReview, Milestone, Verdict
from planning.services.activity import record
from planning.services.blocking import announce_blocking, announce_resolution, check_may_block
from planning.services.conditions import add_conditions, clean_conditions
from planning.services.locks import lock_milestone, lock_review
from planning.workflow import ApprovalFacts, Phase, VerdictFacts
from squads.access import Action, forget_roles, is_guest, require, role_in
from squads.models import Membership

# The default time verdicts are due, counted from a review's scheduled end (DESIGN §8).
VERDICTS_DUE_AFTER_END = timedelta(days=1)
# The longest quote a comment keeps of the block it names (the column holds 200).
QUOTE_KEPT = 200

if TYPE_CHECKING:
    from accounts.models import User


def _squad_people(milestone: Milestone) -> set[User]:
    people = {m.user for m in milestone.project.squad.memberships.select_related("user")}
    if milestone.project.principal_engineer:
        people.add(milestone.project.principal_engineer)
    return people


def _everyone(review: DesignReview) -> set[User]:
    return _squad_people(review.milestone) | set(review.invitees.all())


def _invite(review: DesignReview, people: Iterable[User], actor: User) -> None:
    ics = review_ics(review)
    when = timezone.localtime(review.scheduled_for)
    for person in people:
        if person.pk == actor.pk:
            continue
        notify(
            person,
            Notification.Kind.REVIEW_INVITED,
            f"Design review {review.round} of M{review.milestone.number} “{review.milestone.title}” "
            f"on {when:%a %d %b %H:%M}"
            + (f" ({review.location})" if review.location else "")
            + ".",
            review.get_absolute_url(),
            calendar=ics,
        )


def default_verdicts_due(scheduled_for: datetime, duration_minutes: int) -> datetime:
    return scheduled_for + timedelta(minutes=duration_minutes) + VERDICTS_DUE_AFTER_END


def _check_verdicts_due(scheduled_for: datetime, verdicts_due: datetime | None) -> None:
    if verdicts_due is not None and verdicts_due <= scheduled_for:
        raise ValidationError(
            {"verdicts_due": "Make verdicts due after the review begins, not before."}
        )


@transaction.atomic
def schedule_review(
    actor: User,
    milestone: Milestone,
    *,
    scheduled_for: datetime,
    duration_minutes: int = 60,
    location: str = "",
    verdicts_due: datetime | None = None,
) -> DesignReview:
    """A new review round; everyone in the squad gets an invitation with the .ics.

    Verdicts are due one day after the review's end unless a time is given.
    """
    # The milestone lock numbers the rounds and keeps one round open at a time.
    milestone = lock_milestone(milestone.pk)
    require(actor, Action.RUN_MEETINGS, milestone)
    if milestone.reviews.exclude(status=DesignReview.Status.CLOSED).exists():
        raise ValidationError("Close the current review round before scheduling another.")
    _check_verdicts_due(scheduled_for, verdicts_due)
    last = milestone.reviews.aggregate(last=Max("round"))["last"] or 0
    review = DesignReview.objects.create(
        milestone=milestone,
        round=last + 1,
        scheduled_for=scheduled_for,
        duration_minutes=duration_minutes,
        location=location,
        verdicts_due=verdicts_due or default_verdicts_due(scheduled_for, duration_minutes),
    )
    record(
        milestone,
        actor,
        "review_scheduled",
        f"{actor.display_name} scheduled design review {review.round} for "
        f"{timezone.localtime(scheduled_for):%d %b %H:%M}.",
        review=review.pk,
    )
    _invite(review, _squad_people(milestone), actor)
    return review


@transaction.atomic
def update_review(actor: User, review: DesignReview, **changes: Any) -> DesignReview:
    allowed = {"scheduled_for", "duration_minutes", "location", "verdicts_due"}
    if set(changes) - allowed:
        raise ValueError(f"Not review fields: {', '.join(sorted(set(changes) - allowed))}")
    # Only the fields changed are written, to the locked row: a copy loaded
    # before a close would otherwise write "open" back.
    review = lock_review(review)
    require(actor, Action.RUN_MEETINGS, review.milestone)
    if review.status == DesignReview.Status.CLOSED:
        raise ValidationError("A closed review cannot change.")
    moved = "scheduled_for" in changes and changes["scheduled_for"] != review.scheduled_for
    was_default = review.verdicts_due == default_verdicts_due(
        review.scheduled_for, review.duration_minutes
    )
    if (
        "verdicts_due" not in changes
        and was_default
        and {"scheduled_for", "duration_minutes"} & set(changes)
    ):
        # A deadline left at its default follows the review when it moves.
        changes["verdicts_due"] = None
    if "verdicts_due" in changes and changes["verdicts_due"] is None:
        # Cleared: back to the default, counted from the review's (perhaps new) end.
        changes["verdicts_due"] = default_verdicts_due(
            changes.get("scheduled_for", review.scheduled_for),
            changes.get("duration_minutes", review.duration_minutes),
        )
    _check_verdicts_due(
        changes.get("scheduled_for", review.scheduled_for),
        changes.get("verdicts_due", review.verdicts_due),
    )
    deadline_moved = changes.get("verdicts_due", review.verdicts_due) != review.verdicts_due
    for field, value in changes.items():
        setattr(review, field, value)
    review.save(update_fields=[*changes])
    if deadline_moved and review.verdicts_due is not None:
        record(
            review.milestone,
            actor,
            "verdicts_due_changed",
            f"{actor.display_name} made verdicts on design review {review.round} due "
            f"{timezone.localtime(review.verdicts_due):%a %d %b %H:%M}.",
            review=review.pk,
            verdicts_due=review.verdicts_due.isoformat(),
        )
    if moved:
        _invite(review, _everyone(review), actor)
    return review


@transaction.atomic
def invite_guest(actor: User, review: DesignReview, guest: User) -> DesignReview:
    """Invite someone from outside the squad: they reach this milestone and this review only."""
    review = lock_review(review)
    require(actor, Action.RUN_MEETINGS, review.milestone)
    milestone = review.milestone
    if review.status == DesignReview.Status.CLOSED:
        raise ValidationError("The review is closed.")
    if (
        role_in(guest, milestone.project.squad)
        or milestone.project.principal_engineer_id == guest.pk
    ):
        raise ValidationError({"user": f"{guest.display_name} already takes part in this review."})
    if review.invitees.filter(pk=guest.pk).exists():
        raise ValidationError({"user": f"{guest.display_name} is already invited."})
    review.invitees.add(guest)
    record(
        milestone,
        actor,
        "guest_invited",
        f"{actor.display_name} invited {guest.display_name} to design review {review.round}.",
        review=review.pk,
    )
    _invite(review, [guest], actor)
    return review


@transaction.atomic
def open_review(actor: User, review: DesignReview) -> DesignReview:
    """Open the review: the current revision of every artifact is what is reviewed."""
    # Under the milestone lock, so the phase it checks is the phase it opens in.
    review = lock_review(review)
    require(actor, Action.RUN_MEETINGS, review.milestone)
    if review.status != DesignReview.Status.SCHEDULED:
        raise ValidationError(f"The review is already {review.get_status_display().lower()}.")
    milestone = review.milestone
    if milestone.phase != Phase.DESIGN_REVIEW:
        raise ValidationError("Open the review once the milestone is in the Design review phase.")
    review.status = DesignReview.Status.OPEN
    review.opened_at = timezone.now()
    review.reviewed_revisions = dict(milestone.artifacts.values_list("kind", "revision"))
    review.save(update_fields=["status", "opened_at", "reviewed_revisions"])
    record(
        milestone,
        actor,
        "review_opened",
        f"{actor.display_name} opened design review {review.round}.",
        review=review.pk,
    )
    for person in _everyone(review) - {actor}:
        notify(
            person,
            Notification.Kind.REVIEW_OPENED,
            f"Design review {review.round} of M{milestone.number} “{milestone.title}” is open: comment and give your verdict.",
            review.get_absolute_url(),
        )
    return review


def current_revisions(milestone: Milestone) -> dict[str, int]:
    """Artifact kind → latest revision number: what a verdict given now is pinned to."""
    return dict(milestone.artifacts.values_list("kind", "revision"))


def verdict_facts(
    verdict: Verdict, current: dict[str, int], principal_id: int | None
) -> VerdictFacts:
    return VerdictFacts(
        reviewer_id=verdict.reviewer_id,
        verdict=verdict.verdict,
        counted=verdict.counted,
        stale=workflow.is_stale(verdict.revisions, current),
        dismissed=verdict.dismissed_at is not None,
        principal=principal_id is not None and verdict.reviewer_id == principal_id,
    )


def approval_facts(
    review: DesignReview,
    verdicts: list[Verdict] | None = None,
    *,
    current: dict[str, int] | None = None,
    open_blocking: int | None = None,
) -> ApprovalFacts:
    """What the approval rule reads about a review: the squad's quorum, the verdicts
    (stale or not against the artifacts' current revisions) and the open blocking comments.

    A page that has already loaded the verdicts, the revisions or the comments passes them in.
    """
    if verdicts is None:
        verdicts = list(
            review.verdicts.only("reviewer_id", "verdict", "counted", "revisions", "dismissed_at")
        )
    milestone = review.milestone
    if current is None:
        current = current_revisions(milestone)
    if open_blocking is None:
        open_blocking = open_blocking_comments(review).count()
    squad = milestone.project.squad
    principal_id = milestone.project.principal_engineer_id
    return ApprovalFacts(
        needed=squad.min_review_approvals,
        verdicts=tuple(verdict_facts(v, current, principal_id) for v in verdicts),
        require_principal=squad.require_principal_approval,
        has_principal=principal_id is not None,
        open_blocking=open_blocking,
    )


def open_blocking_comments(review: DesignReview) -> QuerySet[Comment]:
    """Blocking comments neither resolved by their author nor overruled (DESIGN §8)."""
    return review.comments.filter(blocking=True, resolved=False, overruled_at__isnull=True)


@transaction.atomic
def close_review(actor: User, review: DesignReview, outcome: str) -> DesignReview:
    # The verdicts the approval rule counts change only under this review's lock (set_verdict).
    review = lock_review(review)
    require(actor, Action.RUN_MEETINGS, review.milestone)
    if review.status != DesignReview.Status.OPEN:
        raise ValidationError("Only an open review can be closed.")
    if outcome not in DesignReview.Outcome.values:
        raise ValidationError({"outcome": "Choose approved or changes requested."})
    current: dict[str, int] = {}
    if outcome == DesignReview.Outcome.APPROVED:
        # The artifacts' rows are locked while their revisions are read: a revision being
        # saved now either lands first (and makes the approvals on the old one stale) or
        # waits for the close, so an approval never counts for text it did not see.
        current = dict(
            review.milestone.artifacts.select_for_update(no_key=True)
            .order_by("pk")
            .values_list("kind", "revision")
        )
        unmet = workflow.approval_unmet(approval_facts(review, current=current))
        if unmet:
            raise GuardRefused("The review cannot close approved yet.", unmet)
    else:
        current = current_revisions(review.milestone)
    review.status = DesignReview.Status.CLOSED
    review.outcome = outcome
    review.closed_at = timezone.now()
    review.save(update_fields=["status", "outcome", "closed_at"])
    milestone = review.milestone
    label = review.get_outcome_display().lower()
    record(
        milestone,
        actor,
        "review_closed",
        f"{actor.display_name} closed design review {review.round}: {label}.",
        review=review.pk,
        outcome=outcome,
        # What an approval was given on: the revisions current when the close counted it.
        **({"revisions": current} if current else {}),
        verdicts=_counted_verdicts(review, current),
    )
    queue_event(
        milestone.project.squad,
        "review.closed",
        f"Design review {review.round} of {milestone.project.name} M{milestone.number} “{milestone.title}” closed: {label}.",
        {
            "review": review.pk,
            "round": review.round,
            "milestone": milestone.pk,
            "outcome": outcome,
            "url": absolute(review.get_absolute_url()),
        },
    )
    for person in _everyone(review) - {actor}:
        notify(
            person,
            Notification.Kind.REVIEW_CLOSED,
            f"Design review {review.round} of M{milestone.number} “{milestone.title}” closed: {label}.",
            review.get_absolute_url(),
        )
    return review


def _counted_verdicts(review: DesignReview, current: dict[str, int]) -> list[dict[str, Any]]:
    """The counted verdicts a review closed with, as its decision-log entry keeps them."""
    principal_id = review.milestone.project.principal_engineer_id
    rows = review.verdicts.filter(counted=True).select_related("reviewer").order_by("updated_at")
    return [
        {
            "reviewer": verdict.reviewer.display_name,
            "verdict": verdict.verdict,
            "note": verdict.note,
            "stale": facts.stale,
            "dismissed": facts.dismissed,
        }
        for verdict in rows
        for facts in [verdict_facts(verdict, current, principal_id)]
    ]


def recount_verdicts(reviews: QuerySet[DesignReview], reviewer_ids: Iterable[int]) -> None:
    """Bring `counted` up to date for these reviewers on the open reviews among `reviews`.

    A verdict on an open review counts while its reviewer is in the squad or is
    the project's principal engineer; a closed review keeps its verdicts as they
    counted when it closed. Called when someone leaves or joins a squad, or a
    project gets a new principal engineer. Each open review is locked first, as
    the close and `set_verdict` lock it, so a verdict is never counted by a
    close or given in between.
    """
    reviewer_ids = set(reviewer_ids) - {None}
    if not reviewer_ids:
        return
    open_reviews = (
        reviews.filter(status=DesignReview.Status.OPEN)
        .select_for_update(no_key=True, of=("self",))
        .order_by("pk")
        .values_list(
            "pk", "milestone__project__squad_id", "milestone__project__principal_engineer_id"
        )
    )
    for review_id, squad_id, principal_id in open_reviews:
        members = set(
            Membership.objects.filter(squad_id=squad_id, user_id__in=reviewer_ids).values_list(
                "user_id", flat=True
            )
        )
        for reviewer_id in reviewer_ids:
            counted = reviewer_id in members or reviewer_id == principal_id
            Verdict.objects.filter(review_id=review_id, reviewer_id=reviewer_id).exclude(
                counted=counted
            ).update(counted=counted)


def _open_for_comments(review: DesignReview) -> None:
    """Refuse unless the review is still open for comments, and keep it so until commit.

    The review row is locked (the close locks it too); the caller's copy may predate a close.
    """
    status = (
        DesignReview.objects.select_for_update(no_key=True)
        .values_list("status", flat=True)
        .get(pk=review.pk)
    )
    review.status = status
    if status == DesignReview.Status.CLOSED:
        raise ValidationError("The review is closed.")


@transaction.atomic
def add_comment(
    actor: User,
    review: DesignReview,
    *,
    body: str,
    artifact_kind: str = "",
    parent: Comment | None = None,
    revision: int | None = None,
    anchor_block: int | None = None,
    anchor_quote: str = "",
    blocking: bool = False,
) -> Comment:
    """A comment on the design, on an artifact, or on one block of a revision of it (DESIGN §8).

    A comment on an artifact records the revision it was written on (its
    latest unless one is named); one that names a block also keeps the
    block's fingerprint and a quote (the block's opening words unless given).
    A counted reviewer's comment may be blocking.
    """
    require(actor, Action.REVIEW, review)
    if blocking:
        check_may_block(actor, review, parent)
    _open_for_comments(review)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if parent is not None:
        if parent.review_id != review.pk:
            raise ValidationError({"parent": "That comment belongs to another review."})
        if revision is not None or anchor_block is not None:
            raise ValidationError(
                {"anchor": "A reply joins its thread; name the block on the comment it answers."}
            )
        # Replies stay one level deep: a reply to a reply joins its thread.
        parent = parent.parent or parent
        artifact_kind = parent.artifact_kind
    anchor: dict[str, Any] = {}
    if artifact_kind:
        anchor = _anchor(review, artifact_kind, revision, anchor_block, anchor_quote)
    elif revision is not None or anchor_block is not None:
        raise ValidationError(
            {"artifact_kind": "Name the artifact whose revision or block the comment is on."}
        )
    comment = Comment.objects.create(
        review=review,
        author=actor,
        body=body,
        artifact_kind=artifact_kind,
        parent=parent,
        blocking=blocking,
        **anchor,
    )
    if blocking:
        announce_blocking(actor, comment)
    return comment


def _anchor(
    review: DesignReview, kind: str, revision: int | None, position: int | None, quote: str
) -> dict[str, Any]:
    """The revision and block fields of a comment on artifact `kind`; refused if they name
    no revision or block of it."""
    artifact = review.milestone.artifacts.filter(kind=kind).only("kind", "revision", "body").first()
    if artifact is None:
        raise ValidationError({"artifact_kind": "No such artifact."})
    title = artifact.get_kind_display().lower()
    if revision is None:
        revision = artifact.revision
    text: str | None = artifact.body
    if revision != artifact.revision:
        text = (
            artifact.revisions.filter(number=revision).values_list("body", flat=True).first()
            if 0 < revision < artifact.revision
            else None
        )
        if text is None:
            raise ValidationError(
                {
                    "revision": f"The {title} has no revision {revision}"
                    + (f": choose 1 to {artifact.revision}." if artifact.revision else " yet.")
                }
            )
    anchor: dict[str, Any] = {"revision": revision}
    if position is None:
        if quote.strip():
            raise ValidationError({"anchor": "A quote goes with the block it is taken from."})
        return anchor
    found = blocks.split_blocks(text or "")
    block = blocks.block_at(found, position)
    if block is None:
        count = len(found)
        raise ValidationError(
            {
                "anchor": f"Revision {revision} of the {title} has no block {position}"
                + (f": its blocks are 0 to {count - 1}." if count else ": it has no text.")
            }
        )
    quote = blocks.short(quote, QUOTE_KEPT) if quote.strip() else block.quote
    return {
        **anchor,
        "anchor_block": block.index,
        "anchor_fingerprint": block.fingerprint,
        "anchor_quote": quote,
    }


def comment_places(milestone: Milestone, comments: Iterable[Comment]) -> dict[int, int | None]:
    """Where each comment that names a block shows now: the position of that block in the
    artifact's latest revision, or None when its text is gone (the comment is outdated).

    One query for the artifacts, whatever the number of comments.
    """
    anchored = [c for c in comments if c.anchor_block is not None and c.artifact_kind]
    if not anchored:
        return {}
    kinds = {c.artifact_kind for c in anchored}
    latest = {
        kind: (revision, blocks.split_blocks(body))
        for kind, revision, body in milestone.artifacts.filter(kind__in=kinds).values_list(
            "kind", "revision", "body"
        )
    }
    return {c.pk: place_of(c, *latest.get(c.artifact_kind, (0, []))) for c in anchored}


def place_of(comment: Comment, revision: int, current: list[blocks.Block]) -> int | None:
    """Where `comment`'s block is among the `current` blocks of revision `revision`."""
    if comment.anchor_block is None:
        return None
    if comment.revision == revision:
        return comment.anchor_block if comment.anchor_block < len(current) else None
    return blocks.follow(comment.anchor_fingerprint, comment.anchor_block, current)


@transaction.atomic
def edit_comment(actor: User, comment: Comment, body: str) -> Comment:
    require(actor, Action.REVIEW, comment.review)
    require(actor, Action.EDIT_COMMENT, comment)
    _open_for_comments(comment.review)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


@transaction.atomic
def set_comment_resolved(actor: User, comment: Comment, resolved: bool) -> Comment:
    review = comment.review
    require(actor, Action.REVIEW, review)
    require(actor, Action.RESOLVE_COMMENT, comment)
    if comment.blocking:
        # What the close counts changes under the review's lock, and leaves a row.
        _open_for_comments(review)
        comment = Comment.objects.select_for_update(no_key=True).get(pk=comment.pk)
        comment.review = review
        if comment.overruled_at is not None:
            raise ValidationError("This blocking comment was overruled; it stays settled.")
    changed = comment.resolved != resolved
    comment.resolved = resolved
    comment.save(update_fields=["resolved", "updated_at"])
    if comment.blocking and changed:
        announce_resolution(actor, comment)
    return comment


@transaction.atomic
def set_verdict(
    actor: User,
    review: DesignReview,
    verdict: str,
    note: str = "",
    conditions: list[str] | None = None,
) -> Verdict:
    """Give or change one's verdict while the review is open. Guests' verdicts are not counted.

    An approval with conditions makes each condition an unknown of the milestone (conditions.py).
    """
    # Under the review lock the close takes before it counts, so a verdict is
    # either counted by the close or refused because the review closed.
    review = lock_review(review)
    # Who counts is read now, under the lock: a removal from the squad or a new
    # principal engineer recounts the open reviews under the same lock.
    forget_roles(actor)
    review.milestone.project.refresh_from_db(fields=["principal_engineer"])
    require(actor, Action.REVIEW, review)
    if review.status != DesignReview.Status.OPEN:
        raise ValidationError("Verdicts are given while the review is open.")
    if verdict not in Verdict.Choice.values:
        raise ValidationError(
            {"verdict": "Choose approve, approve with conditions, changes requested or comment."}
        )
    titles = clean_conditions(verdict, conditions)
    milestone = review.milestone
    counted = not is_guest(actor, milestone)
    if titles and not counted:
        raise ValidationError(
            {"verdict": "A guest's approval does not count: write your conditions as comments."}
        )
    # Pinned to the revisions it was given on; a new verdict replaces a dismissed one.
    row, _ = Verdict.objects.update_or_create(
        review=review,
        reviewer=actor,
        defaults={
            "verdict": verdict,
            "note": note.strip(),
            "counted": counted,
            "revisions": current_revisions(milestone),
            "dismissed_by": None,
            "dismiss_note": "",
            "dismissed_at": None,
        },
    )
    add_conditions(actor, review, row, titles)
    if verdict == Verdict.Choice.CHANGES_REQUESTED and milestone.tech_lead_id != actor.pk:
        notify(
            milestone.tech_lead,
            Notification.Kind.CHANGES_REQUESTED,
            f"{actor.display_name} asks for changes in design review {review.round}"
            + (f": {note.strip()}" if note.strip() else "."),
            review.get_absolute_url(),
        )
    return row


def verdicts_made_stale(artifact: Artifact, before: int, after: int, actor: User) -> list[Verdict]:
    """Tell each reviewer whose verdict this new revision made stale, with the diff since it.

    Called by the artifact's save, in its transaction, once revision `after` of
    `artifact` replaced `before`. One pass over the open reviews' verdicts that
    were current until now; it reads them without the review lock (the close
    takes the review's, then the artifacts' rows, which the save holds).
    """
    given = list(
        Verdict.objects.filter(
            review__milestone_id=artifact.milestone_id, review__status=DesignReview.Status.OPEN
        ).select_related("review", "reviewer")
    )
    if not given:
        return []
    milestone = artifact.milestone
    current = current_revisions(milestone)
    was = {**current, artifact.kind: before}
    made_stale = [
        verdict
        for verdict in given
        if not workflow.is_stale(verdict.revisions, was)
        and workflow.is_stale(verdict.revisions, current)
    ]
    if not made_stale:
        return []
    title = artifact.get_kind_display().lower()
    diff = reverse(
        "planning:artifact-diff", kwargs={**milestone.url_kwargs(), "kind": artifact.kind}
    )
    messages = [
        Message(
            recipient_id=verdict.reviewer_id,
            kind=Notification.Kind.VERDICT_STALE,
            text=f"{actor.display_name} saved revision {after} of the {title} after your verdict "
            f"({verdict.get_verdict_display().lower()}) in design review {verdict.review.round} "
            f"of M{milestone.number}: see what changed, then give your verdict again.",
            link=f"{diff}?a={verdict.revisions.get(artifact.kind, 0)}&b={after}",
            dedupe_key=f"verdict-stale:{verdict.pk}:{artifact.kind}:{after}",
        )
        for verdict in made_stale
        if verdict.reviewer_id != actor.pk
    ]
    notify_many(messages)
    queue_deliveries(Notification.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages]))
    names = ", ".join(v.reviewer.display_name for v in made_stale)
    record(
        milestone,
        actor,
        "verdicts_stale",
        f"Revision {after} of the {title} made {len(made_stale)} "
        f"verdict{'s' if len(made_stale) != 1 else ''} stale: {names}.",
        kind=artifact.kind,
        revision=after,
        verdicts=[v.pk for v in made_stale],
        reviews=sorted({v.review_id for v in made_stale}),
    )
    return made_stale


@transaction.atomic
def dismiss_verdict(actor: User, verdict: Verdict, note: str) -> Verdict:
    """The tech lead dismisses a stale request for changes with a note (DESIGN §8): it no
    longer holds the close; its reviewer may give a new verdict."""
    # Under the review lock that the close counts under and a new verdict is given under.
    review = lock_review(verdict.review)
    verdict.review = review
    require(actor, Action.DISMISS_VERDICT, verdict)
    verdict = Verdict.objects.select_related("reviewer").filter(pk=verdict.pk, review=review).get()
    verdict.review = review
    if review.status != DesignReview.Status.OPEN:
        raise ValidationError("Verdicts are dismissed while the review is open.")
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say why the request for changes is dismissed."})
    milestone = review.milestone
    facts = verdict_facts(verdict, current_revisions(milestone), None)
    refusal = workflow.dismissal_refusal(facts)
    if refusal:
        raise ValidationError(refusal)
    verdict.dismissed_by = actor
    verdict.dismiss_note = note
    verdict.dismissed_at = timezone.now()
    verdict.save(update_fields=["dismissed_by", "dismiss_note", "dismissed_at", "updated_at"])
    reviewer = verdict.reviewer.display_name
    summary = (
        f"{actor.display_name} dismissed {reviewer}'s stale request for changes in design "
        f"review {review.round}: {note}"
    )
    record(
        milestone,
        actor,
        "verdict_dismissed",
        summary,
        review=review.pk,
        verdict=verdict.pk,
        reviewer=verdict.reviewer_id,
        note=note,
    )
    queue_event(
        milestone.project.squad,
        "verdict.dismissed",
        summary,
        {
            "review": review.pk,
            "round": review.round,
            "milestone": milestone.pk,
            "verdict": verdict.pk,
            "reviewer": verdict.reviewer_id,
            "note": note,
            "url": absolute(review.get_absolute_url()),
        },
    )
    if verdict.reviewer_id != actor.pk:
        notify(
            verdict.reviewer,
            Notification.Kind.VERDICT_DISMISSED,
            f"{actor.display_name} dismissed your request for changes in design review "
            f"{review.round} of M{milestone.number}: {note}",
            review.get_absolute_url(),
        )
    return verdict
