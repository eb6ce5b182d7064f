"""What an insights page reads: a fixed number of set-based queries, whatever the data size.

Each reading function is one query over the scope's rows in both windows of
the period (the chosen one and the one before it); `figures` turns their rows
into the figures of each window. Nothing here loops over milestones issuing
queries.

The time a milestone spends in a phase comes from its phase moves: each move's
`Activity` row carries `from_phase` and `to_phase`, and the window functions
`Lag` and `Lead` over the milestone's moves, ordered by time, give when the
phase it left was entered and when the phase it entered was left.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Greatest, Lag, Lead, StrIndex, Substr
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from planning.insights.period import Period
from planning.insights.scope import Scope
from planning.models import Activity, DeferralRequest, DesignReview, Milestone, Story, Unknown
from planning.workflow import PHASES, Phase, ReviewOutcome, ReviewStatus

ADVANCED = "phase_advanced"
MOVED_BACK = "phase_moved_back"
MOVES = (ADVANCED, MOVED_BACK)
RESOLVED = "unknown_resolved"

# What each reminder rule is about. The sweep names a reminder "<rule>:<id>:<recipient>:…"
# (planning.services.reminders), the id being that of an unknown, a deferral or a review.
REMINDER_SUBJECTS = {
    "owner_nudge": "unknown",
    "escalation": "unknown",
    "blocker_overdue": "unknown",
    "vendor_followup": "unknown",
    "deferral_pending": "deferral",
    "review_at_risk": "review",
    "verdict_pending": "review",
}
REMINDER_RULES = tuple(rule for rule in REMINDER_SUBJECTS if rule in Notification.Kind.values)


@dataclass(frozen=True)
class MilestoneRow:
    id: int
    number: int
    title: str
    phase: str
    created_at: datetime
    project_id: int
    project_name: str
    project_slug: str
    squad_slug: str
    squad_name: str
    breakout_mode: str

    @property
    def label(self) -> str:
        return f"{self.project_name} M{self.number}"

    @cached_property
    def url(self) -> str:
        return reverse(
            "planning:milestone-detail",
            kwargs={
                "squad_slug": self.squad_slug,
                "project_slug": self.project_slug,
                "number": self.number,
            },
        )


@dataclass(frozen=True)
class Move:
    """One phase move, with the moves around it in the milestone's timeline."""

    milestone_id: int
    at: datetime
    verb: str
    from_phase: str
    to_phase: str
    # When `from_phase` was entered: the previous move, or None when it was the first.
    entered_at: datetime | None
    # When `to_phase` was left: the next move, or None while the milestone is still there.
    next_move_at: datetime | None


@dataclass(frozen=True)
class Stint:
    """A stay of a milestone in one phase, from entering it to leaving it (or now)."""

    milestone_id: int
    phase: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class UnknownRow:
    id: int
    milestone_id: int
    created_at: datetime
    phase_then: str  # the milestone's phase when the unknown was added
    resolved_at: datetime | None


@dataclass(frozen=True)
class ReviewCount:
    milestone_id: int
    period: str
    rounds: int
    approved: int
    changes_requested: int


@dataclass(frozen=True)
class Tally:
    """How many rows of one kind (a deferral decision, a reminder rule) a milestone had."""

    milestone_id: int | None
    period: str
    kind: str
    count: int


@dataclass(frozen=True)
class StoryCount:
    milestone_id: int
    stories: int
    subtasks: int
    without_subtasks: int


@dataclass
class History:
    period: Period
    now: datetime
    milestones: dict[int, MilestoneRow] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    stints: list[Stint] = field(default_factory=list)
    unknowns: list[UnknownRow] = field(default_factory=list)
    reviews: list[ReviewCount] = field(default_factory=list)
    deferrals: list[Tally] = field(default_factory=list)
    reminders: list[Tally] = field(default_factory=list)
    stories: dict[int, StoryCount] = field(default_factory=dict)


def read_history(scope: Scope, period: Period, now: datetime | None = None) -> History:
    """Everything the figures of both windows need: seven queries."""
    history = History(period=period, now=now or timezone.now())
    history.milestones = milestones(scope, period)
    history.moves, resolved = moves(scope, period)
    history.stints = stints(history)
    stays: dict[int, list[Stint]] = defaultdict(list)
    for stint in history.stints:
        stays[stint.milestone_id].append(stint)
    history.unknowns = [
        UnknownRow(
            pk,
            milestone_id,
            created_at,
            _phase_at(stays[milestone_id], created_at),
            resolved.get(pk),
        )
        for pk, milestone_id, created_at in unknowns(scope, period)
    ]
    history.reviews = reviews(scope, period)
    history.deferrals = deferrals(scope, period)
    history.reminders = reminders(scope, period)
    history.stories = stories(scope, period)
    return history


def _period_of(field_name: str, period: Period) -> Case:
    """Which window a row falls in, by one of its times (rows are already within the period)."""
    return Case(
        When(**{f"{field_name}__gte": period.current.start}, then=Value("current")),
        default=Value("previous"),
        output_field=CharField(),
    )


def _within(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def milestones(scope: Scope, period: Period) -> dict[int, MilestoneRow]:
    """The scope's milestones that existed in the period and were not done before it began."""
    moved_in_period = Activity.objects.filter(
        milestone_id=OuterRef("pk"), verb__in=MOVES, created_at__gte=period.start
    )
    rows = (
        Milestone.objects.filter(scope.q(), created_at__lt=period.end)
        .filter(~Q(phase=Phase.DONE) | Exists(moved_in_period))
        .order_by("project__name", "project_id", "number")
        .values_list(
            "id",
            "number",
            "title",
            "phase",
            "created_at",
            "project_id",
            "project__name",
            "project__slug",
            "project__squad__slug",
            "project__squad__name",
            "project__squad__breakout_mode",
        )
    )
    return {row[0]: MilestoneRow(*row) for row in rows}


def moves(scope: Scope, period: Period) -> tuple[list[Move], dict[int, datetime]]:
    """Every phase move whose phase before or after overlaps the period, with Lag and Lead;
    and, riding along in the same query, when each unknown resolved in the period was resolved.

    The window functions run over all of a milestone's moves (partitioned apart from its
    resolutions); only then are the rows outside the period dropped (Django filters
    window results in an outer query), so the first move kept still knows when its
    phase was entered. Resolving leaves an `unknown_resolved` row naming the unknown.
    """
    is_move = Case(
        When(verb__in=MOVES, then=Value(True)), default=Value(False), output_field=BooleanField()
    )
    timeline: dict[str, Any] = {
        "partition_by": [F("milestone_id"), is_move],
        "order_by": [F("created_at"), F("id")],
    }
    rows = (
        Activity.objects.filter(scope.q("milestone"), verb__in=[*MOVES, RESOLVED])
        .order_by()
        .annotate(
            entered_at=Window(Lag("created_at"), **timeline),
            next_move_at=Window(Lead("created_at"), **timeline),
            from_phase=KeyTextTransform("from_phase", "data"),
            to_phase=KeyTextTransform("to_phase", "data"),
            subject=Cast(KeyTextTransform("unknown", "data"), CharField()),
        )
        .filter(
            Q(verb__in=MOVES)
            & (
                # The phase it left overlaps the period…
                Q(created_at__gte=period.start)
                & (Q(entered_at__isnull=True) | Q(entered_at__lt=period.end))
                # …or the phase it entered, where the milestone still is.
                | Q(next_move_at__isnull=True, created_at__lt=period.end)
            )
            | Q(verb=RESOLVED, created_at__gte=period.start, created_at__lt=period.end)
        )
        .values_list(
            "milestone_id",
            "created_at",
            "verb",
            "from_phase",
            "to_phase",
            "entered_at",
            "next_move_at",
            "subject",
        )
    )
    found: list[Move] = []
    resolved: dict[int, datetime] = {}
    for *move, subject in rows:
        if move[2] == RESOLVED:
            if subject and subject.isdigit():
                resolved[int(subject)] = max(move[1], resolved.get(int(subject), move[1]))
        # Services write only known phases; anything else (a hand-edited row) is left out.
        elif move[3] in PHASES and move[4] in PHASES:
            found.append(Move(*move))
    return found, resolved


def stints(history: History) -> list[Stint]:
    """Every stay in a phase that the moves read describe.

    Each move closes a stay in the phase it left (since the move before it, or
    the milestone's creation); a move back counts the time in the phase it
    left, and a phase entered again after a move back gets a stay of its own.
    The last move opens a stay that lasts until now (in done too, which counts
    no time but says where an unknown added then was raised). A milestone
    without moves is in its phase since it was created.
    """
    moved = {move.milestone_id for move in history.moves}
    found = [
        Stint(milestone.id, milestone.phase, milestone.created_at, history.now)
        for milestone in history.milestones.values()
        if milestone.id not in moved
    ]
    for move in history.moves:
        milestone = history.milestones.get(move.milestone_id)
        if milestone is None:
            continue
        found.append(
            Stint(milestone.id, move.from_phase, move.entered_at or milestone.created_at, move.at)
        )
        if move.next_move_at is None:
            found.append(Stint(milestone.id, move.to_phase, move.at, history.now))
    return found


def _phase_at(stays: list[Stint], moment: datetime) -> str:
    """A milestone's phase at `moment`, from its stays (a phase entered at that moment counts)."""
    for stint in stays:
        if stint.start <= moment < stint.end:
            return stint.phase
    return Phase.ARCHITECTURE.value


def unknowns(scope: Scope, period: Period) -> list[tuple[int, int, datetime]]:
    """Unknowns added in the period, or resolved in it (their `unknown_resolved` row says so)."""
    resolved_in_period = Activity.objects.filter(
        scope.q("milestone"), _within("created_at", period), verb=RESOLVED
    ).values(subject=Cast(KeyTextTransform("unknown", "data"), CharField()))
    return list(
        Unknown.objects.filter(scope.q("milestone"))
        .annotate(key=Cast("pk", CharField()))
        .filter(_within("created_at", period) | Q(key__in=resolved_in_period))
        .order_by()
        .values_list("id", "milestone_id", "created_at")
    )


def reviews(scope: Scope, period: Period) -> list[ReviewCount]:
    """Review rounds closed in the period, by milestone and window, with their outcomes."""
    rows = (
        DesignReview.objects.filter(
            scope.q("milestone"), _within("closed_at", period), status=ReviewStatus.CLOSED
        )
        .annotate(period=_period_of("closed_at", period))
        .values("milestone_id", "period")
        .order_by()
        .annotate(
            rounds=Count("id"),
            approved=Count("id", filter=Q(outcome=ReviewOutcome.APPROVED)),
            changes_requested=Count("id", filter=Q(outcome=ReviewOutcome.CHANGES_REQUESTED)),
        )
        .values_list("milestone_id", "period", "rounds", "approved", "changes_requested")
    )
    return [ReviewCount(*row) for row in rows]


def deferrals(scope: Scope, period: Period) -> list[Tally]:
    """Deferrals the principal engineer decided in the period, by milestone, window and decision.

    A request withdrawn because its unknown was resolved is closed without a
    decider; it is not a decision and does not count.
    """
    rows = (
        DeferralRequest.objects.filter(
            scope.q("unknown__milestone"),
            _within("decided_at", period),
            decided_by__isnull=False,
            status__in=[DeferralRequest.Status.APPROVED, DeferralRequest.Status.REJECTED],
        )
        .annotate(period=_period_of("decided_at", period))
        .values("unknown__milestone_id", "period", "status")
        .order_by()
        .annotate(count=Count("id"))
        .values_list("unknown__milestone_id", "period", "status", "count")
    )
    return [Tally(*row) for row in rows]


def _reminder_subject() -> Substr:
    """The id a reminder's dedupe key names: the text between its first two colons."""
    rest = Substr("dedupe_key", StrIndex("dedupe_key", Value(":")) + 1)
    return Substr(rest, 1, Greatest(StrIndex(rest, Value(":")) - 1, Value(0)))


def _subjects(kind: str, scope: Scope) -> QuerySet:
    """The ids, as text, of the scope's objects of one kind that reminders are about."""
    objects: QuerySet = {
        "unknown": Unknown.objects.filter(scope.q("milestone")),
        "deferral": DeferralRequest.objects.filter(scope.q("unknown__milestone")),
        "review": DesignReview.objects.filter(scope.q("milestone")),
    }[kind]
    return objects.values(key=Cast("pk", CharField()))


def _subject_milestone() -> Case:
    """The milestone of the object a reminder is about."""
    subject = Cast(OuterRef("subject"), BigIntegerField())
    milestone_of = {
        "unknown": Unknown.objects.filter(pk=subject).values("milestone_id")[:1],
        "deferral": DeferralRequest.objects.filter(pk=subject).values("unknown__milestone_id")[:1],
        "review": DesignReview.objects.filter(pk=subject).values("milestone_id")[:1],
    }
    return Case(
        *(
            When(kind__in=rules, then=Subquery(milestone_of[kind]))
            for kind, rules in _rules_by_subject().items()
        ),
        output_field=BigIntegerField(),
    )


def _rules_by_subject() -> dict[str, list[str]]:
    by_subject: dict[str, list[str]] = {}
    for rule in REMINDER_RULES:
        by_subject.setdefault(REMINDER_SUBJECTS[rule], []).append(rule)
    return by_subject


def reminders(scope: Scope, period: Period) -> list[Tally]:
    """Reminders sent in the period about the scope's objects, by milestone, window and rule."""
    about_scope = Q(pk__in=[])
    for kind, rules in _rules_by_subject().items():
        about_scope |= Q(kind__in=rules, subject__in=_subjects(kind, scope))
    rows = (
        Notification.objects.filter(_within("created_at", period), kind__in=REMINDER_RULES)
        .annotate(subject=_reminder_subject())
        .filter(about_scope)
        .annotate(period=_period_of("created_at", period), milestone=_subject_milestone())
        .values("milestone", "period", "kind")
        .order_by()
        .annotate(count=Count("id"))
        .values_list("milestone", "period", "kind", "count")
    )
    return [Tally(*row) for row in rows]


def stories(scope: Scope, period: Period) -> dict[int, StoryCount]:
    """Stories and their sub-tasks, for each milestone that reached done in the period."""
    done_in_period = Activity.objects.filter(
        scope.q("milestone"),
        _within("created_at", period),
        verb=ADVANCED,
        data__to_phase=Phase.DONE.value,
    ).values("milestone_id")
    rows = (
        Story.objects.filter(milestone_id__in=done_in_period)
        .values("milestone_id")
        .order_by()
        .annotate(
            story_count=Count("id", distinct=True),
            subtask_count=Count("subtasks"),
            broken_out=Count("id", distinct=True, filter=Q(subtasks__isnull=False)),
        )
        .values_list("milestone_id", "story_count", "subtask_count", "broken_out")
    )
    return {
        milestone_id: StoryCount(milestone_id, count, subtasks, count - broken_out)
        for milestone_id, count, subtasks, broken_out in rows
    }
