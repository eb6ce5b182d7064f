"""The engine that moves milestones between phases, reading planning.workflow."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from notifications.services import absolute
from notifications.webhooks import queue_event
from planning import workflow
from planning.exceptions import GuardRefused
from planning.models import (
    Artifact,
    BreakoutSession,
    Concern,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Story,
    Unknown,
)
from planning.services.activity import record
from planning.services.locks import lock_milestone
from planning.workflow import (
    ArtifactFacts,
    MilestoneFacts,
    Phase,
    ReviewFacts,
    StoryFacts,
    UnknownFacts,
    Unmet,
)
from squads.access import Action, require

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from accounts.models import User


class SubtaskCount(TypedDict):
    subtask_count: int


class Readiness(TypedDict):
    """Where a milestone stands: its phase, the next one, and what is missing to reach it."""

    phase: str
    next_phase: str | None
    can_advance: bool
    unmet: list[Unmet]


def milestone_facts(
    milestone: Milestone,
    *,
    artifacts: Iterable[Artifact] | None = None,
    unknowns: Iterable[Unknown] | None = None,
    reviews: Iterable[DesignReview] | None = None,
    stories: Iterable[WithAnnotations[Story, SubtaskCount]] | None = None,
) -> MilestoneFacts:
    """What the guards read, in one query per kind of fact.

    A page that has already loaded the artifacts, unknowns, reviews or
    stories (as model instances; stories annotated with `subtask_count`)
    passes them in, and they are not read twice.
    """
    # Each `only` keeps `milestone`: the related manager sets it on every row,
    # and a deferred foreign key would cost a query per row, under the lock of a move.
    if artifacts is None:
        artifacts = list(
            milestone.artifacts.only("milestone", "kind", "status", "needed", "not_needed_reason")
        )
    if unknowns is None:
        unknowns = list(
            milestone.unknowns.only(
                "milestone",
                "number",
                "title",
                "priority",
                "status",
                "owner_id",
                "vendor_contacted_on",
            )
        )
    if reviews is None:
        reviews = list(
            milestone.reviews.order_by("-round").only("milestone", "round", "status", "outcome")[:1]
        )
    latest = max(reviews, key=lambda r: r.round, default=None)
    meetings = (
        Milestone.objects.filter(pk=milestone.pk)
        .annotate(
            kickoff_held=Exists(
                KickoffMeeting.objects.filter(milestone=OuterRef("pk"), held_at__isnull=False)
            ),
            breakout_held=Exists(
                BreakoutSession.objects.filter(milestone=OuterRef("pk"), held_at__isnull=False)
            ),
            open_concerns=Count("concerns", filter=Q(concerns__status=Concern.Status.OPEN)),
        )
        .values("kickoff_held", "breakout_held", "open_concerns")
        .get()
    )
    counted: Iterable[WithAnnotations[Story, SubtaskCount]] = (
        milestone.stories.annotate(subtask_count=Count("subtasks")).only(
            "milestone", "number", "title", "assignee_id"
        )
        if stories is None
        else stories
    )
    story_facts = tuple(
        StoryFacts(s.key, s.title, s.assignee_id is not None, s.subtask_count)
        for s in sorted(counted, key=lambda s: s.number)
    )
    return MilestoneFacts(
        phase=milestone.phase,
        tech_lead_id=milestone.tech_lead_id,
        artifacts={
            a.kind: ArtifactFacts(a.kind, a.status, a.needed, a.not_needed_reason)
            for a in artifacts
        },
        unknowns=tuple(
            UnknownFacts(
                key=f"U-{u.number}",
                title=u.title,
                priority=u.priority,
                status=u.status,
                owner_id=u.owner_id,
                vendor_contacted=u.vendor_contacted_on is not None,
            )
            for u in sorted(unknowns, key=lambda u: u.number)
        ),
        latest_review=ReviewFacts(latest.round, latest.status, latest.outcome) if latest else None,
        kickoff_held=meetings["kickoff_held"],
        open_concerns=meetings["open_concerns"],
        breakout_mode=milestone.project.squad.breakout_mode,
        breakout_held=meetings["breakout_held"],
        stories=story_facts,
    )


def readiness(milestone: Milestone, facts: MilestoneFacts | None = None) -> Readiness:
    """The next phase and what is missing before the milestone may move to it."""
    facts = facts or milestone_facts(milestone)
    upcoming, unmet = workflow.readiness(facts)
    return {
        "phase": milestone.phase,
        "next_phase": upcoming,
        "can_advance": upcoming is not None and not unmet,
        "unmet": unmet,
    }


def transition(actor: User, milestone: Milestone, to: str, note: str = "") -> Milestone:
    """Move to the next phase, or back to an earlier one with a note."""
    if to not in workflow.PHASES:
        raise ValidationError({"to": f"{to!r} is not a phase."})
    if to == milestone.phase:
        # Most often a second click on a button whose move already happened.
        raise ValidationError({"to": f"The milestone is already in {Phase(to).label}."})
    if to == workflow.next_phase(milestone.phase):
        return advance_phase(actor, milestone, to=to, note=note)
    if to in workflow.earlier_phases(milestone.phase):
        return move_back(actor, milestone, to=to, note=note)
    raise ValidationError(
        {
            "to": f"From {Phase(milestone.phase).label} a milestone moves on to the next phase "
            "or back to an earlier one."
        }
    )


def _lock(milestone: Milestone, actor: User) -> tuple[Milestone, MilestoneFacts]:
    """The milestone row, locked, and its facts as they stand under the lock.

    Who may move is asked again of the locked row: the tech lead may have changed.
    """
    locked = lock_milestone(milestone.pk)
    require(actor, Action.MOVE_PHASE, locked)
    return locked, milestone_facts(locked)


def _announce(locked: Milestone, actor: User, from_phase: str, note: str) -> None:
    """Tell the squad's webhook of the move, if the squad has one.

    The event is written in the move's transaction and posted once it commits,
    so a move that is refused or rolled back is never announced.
    """
    to_phase = locked.phase
    verb = (
        "moved on to"
        if Phase.values.index(to_phase) > Phase.values.index(from_phase)
        else "moved back to"
    )
    project = locked.project
    queue_event(
        project.squad,
        "milestone.phase_changed",
        f"{actor.display_name} {verb} {Phase(to_phase).label}: {project.name} M{locked.number} “{locked.title}”"
        + (f" ({note})" if note else "."),
        {
            "milestone": locked.pk,
            "project": locked.project_id,
            "number": locked.number,
            "title": locked.title,
            "from": from_phase,
            "to": to_phase,
            "note": note,
            "actor": actor.username,
            "url": absolute(locked.get_absolute_url()),
        },
    )


@transaction.atomic
def advance_phase(actor: User, milestone: Milestone, *, to: str, note: str = "") -> Milestone:
    """Move forward one phase, if the guard of that move holds now, under the row lock."""
    locked, facts = _lock(milestone, actor)
    if workflow.next_phase(locked.phase) != to:
        raise GuardRefused(
            f"The milestone is now in {Phase(locked.phase).label}; reload to see where it stands.",
            [
                Unmet(
                    "phase_changed", f"The milestone already moved to {Phase(locked.phase).label}."
                )
            ],
        )
    unmet = workflow.unmet_for(facts, to)
    if unmet:
        raise GuardRefused(f"Not ready to move on to {Phase(to).label}.", unmet)
    from_phase = locked.phase
    locked.phase = to
    locked.save(update_fields=["phase", "updated_at"])
    record(
        locked,
        actor,
        "phase_advanced",
        f"{actor.display_name} moved the milestone on to {Phase(to).label}.",
        from_phase=from_phase,
        to_phase=to,
        note=note,
    )
    _announce(locked, actor, from_phase, note)
    return locked


@transaction.atomic
def move_back(actor: User, milestone: Milestone, *, to: str, note: str) -> Milestone:
    """Move back to an earlier phase; the note says why (it goes on the timeline)."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the milestone moves back."})
    locked, _ = _lock(milestone, actor)
    if to not in workflow.earlier_phases(locked.phase):
        raise GuardRefused(
            f"The milestone is now in {Phase(locked.phase).label}; reload to see where it stands.",
            [
                Unmet(
                    "phase_changed",
                    f"{Phase(to).label} is not earlier than {Phase(locked.phase).label}.",
                )
            ],
        )
    from_phase = locked.phase
    locked.phase = to
    locked.save(update_fields=["phase", "updated_at"])
    record(
        locked,
        actor,
        "phase_moved_back",
        f"{actor.display_name} moved the milestone back to {Phase(to).label}: {note}",
        from_phase=from_phase,
        to_phase=to,
        note=note,
    )
    _announce(locked, actor, from_phase, note)
    return locked
