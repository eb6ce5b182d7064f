"""The figures of one window, computed from the rows `history` read. No queries here.

Medians are taken in Python over rows already aggregated per milestone (or,
for the age of unknowns at resolution, per unknown of the window).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from planning.insights.history import (
    ADVANCED,
    MOVED_BACK,
    REMINDER_RULES,
    History,
    MilestoneRow,
    UnknownRow,
)
from planning.insights.period import Window
from planning.workflow import PHASES, Phase

# A milestone spends time in every phase but the last.
TIMED_PHASES: list[str] = [phase for phase in PHASES if phase != Phase.DONE]
# Unknowns raised once the milestone has passed its design review are late.
LATE_PHASES = frozenset(PHASES[PHASES.index(Phase.DESIGN_REVIEW) + 1 :])
# Reminders that raise an unsettled unknown to the tech lead or the principal engineer.
ESCALATION_RULES = ("escalation", "blocker_overdue")
DAY = 86_400.0


def days(seconds: float | None) -> float | None:
    """Seconds as days, to one decimal: how every figure of time is shown."""
    return None if seconds is None else round(seconds / DAY, 1)


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


@dataclass
class PhaseTimes:
    milestone: MilestoneRow
    seconds: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


@dataclass(frozen=True)
class LeadTime:
    milestone: MilestoneRow
    done_at: datetime
    seconds: float


@dataclass(frozen=True)
class ReviewRounds:
    milestone: MilestoneRow
    rounds: int
    approved: int
    changes_requested: int


@dataclass
class MoveBack:
    from_phase: str
    to_phase: str
    count: int = 0
    milestones: list[MilestoneRow] = field(default_factory=list)


@dataclass
class Breakout:
    mode: str
    milestones: list[MilestoneRow] = field(default_factory=list)
    stories: int = 0
    subtasks: int = 0
    without_subtasks: int = 0
    # The milestones among them with a story that has no sub-task.
    lacking: list[MilestoneRow] = field(default_factory=list)

    @property
    def subtasks_per_story(self) -> float | None:
        return round(self.subtasks / self.stories, 1) if self.stories else None


@dataclass
class Figures:
    window: Window
    phase_times: list[PhaseTimes]
    median_seconds: dict[str, float | None]
    lead_times: list[LeadTime]
    reviews: list[ReviewRounds]
    move_backs: list[MoveBack]
    # The milestones that left each phase in the window, forward or back.
    left_phase: dict[str, list[MilestoneRow]]
    unknowns_raised: dict[str, int]
    late_unknowns: list[UnknownRow]
    resolution_seconds: list[float]
    # Of the unknowns resolved in the window, by milestone.
    resolved_by_milestone: dict[int, list[float]]
    deferrals: dict[str, int]
    deferral_milestones: dict[str, list[MilestoneRow]]
    reminders: dict[str, int]
    reminder_milestones: dict[str, list[MilestoneRow]]
    breakout: list[Breakout]
    milestones: dict[int, MilestoneRow]

    @property
    def median_lead_seconds(self) -> float | None:
        return _median(lead.seconds for lead in self.lead_times)

    @property
    def median_resolution_seconds(self) -> float | None:
        return _median(self.resolution_seconds)

    @property
    def unknowns_total(self) -> int:
        return sum(self.unknowns_raised.values())

    @property
    def late_total(self) -> int:
        return len(self.late_unknowns)

    @property
    def review_rounds(self) -> int:
        return sum(review.rounds for review in self.reviews)

    @property
    def reviews_approved(self) -> int:
        return sum(review.approved for review in self.reviews)

    @property
    def reviews_changes_requested(self) -> int:
        return sum(review.changes_requested for review in self.reviews)

    @property
    def move_back_total(self) -> int:
        return sum(move.count for move in self.move_backs)

    @property
    def reminders_total(self) -> int:
        return sum(self.reminders.values())

    @property
    def escalations(self) -> int:
        return sum(self.reminders.get(rule, 0) for rule in ESCALATION_RULES)

    @property
    def escalation_milestones(self) -> list[MilestoneRow]:
        return _distinct(m for rule in ESCALATION_RULES for m in self.reminder_milestones[rule])


def _distinct(milestones: Iterable[MilestoneRow]) -> list[MilestoneRow]:
    return sorted({m.id: m for m in milestones}.values(), key=_in_order)


def _in_order(milestone: MilestoneRow) -> tuple[str, int, int]:
    """Milestones as the pages list them: by project, then number."""
    return (milestone.project_name, milestone.project_id, milestone.number)


def figures(history: History, window: Window, label: str) -> Figures:
    """The figures of one window (`label`: "current" or "previous") of the history."""
    milestones = history.milestones
    in_window = [move for move in history.moves if window.holds(move.at)]

    seconds: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for stint in history.stints:
        spent = window.overlap_seconds(stint.start, min(stint.end, history.now))
        if spent > 0 and stint.phase in TIMED_PHASES:
            seconds[stint.milestone_id][stint.phase] += spent
    phase_times = [
        PhaseTimes(milestone, dict(seconds[milestone.id]))
        for milestone in milestones.values()
        if milestone.id in seconds
    ]
    median_seconds = {
        phase: _median(t.seconds[phase] for t in phase_times if phase in t.seconds)
        for phase in TIMED_PHASES
    }

    done_at: dict[int, datetime] = {}
    for move in in_window:
        if (
            move.verb == ADVANCED
            and move.to_phase == Phase.DONE
            and move.milestone_id in milestones
        ):
            done_at[move.milestone_id] = max(move.at, done_at.get(move.milestone_id, move.at))
    lead_times = [
        LeadTime(
            milestone,
            done_at[milestone.id],
            (done_at[milestone.id] - milestone.created_at).total_seconds(),
        )
        for milestone in milestones.values()
        if milestone.id in done_at
    ]

    reviews = [
        ReviewRounds(milestones[row.milestone_id], row.rounds, row.approved, row.changes_requested)
        for row in history.reviews
        if row.period == label and row.milestone_id in milestones
    ]
    reviews.sort(key=lambda review: _in_order(review.milestone))

    move_backs: dict[tuple[str, str], MoveBack] = {}
    left_phase: dict[str, list[MilestoneRow]] = {phase: [] for phase in TIMED_PHASES}
    for move in in_window:
        milestone = milestones.get(move.milestone_id)
        if milestone is None:
            continue
        if move.from_phase in left_phase:
            left_phase[move.from_phase].append(milestone)
        if move.verb == MOVED_BACK:
            back = move_backs.setdefault(
                (move.from_phase, move.to_phase), MoveBack(move.from_phase, move.to_phase)
            )
            back.count += 1
            back.milestones.append(milestone)
    for back in move_backs.values():
        back.milestones = _distinct(back.milestones)
    left_phase = {phase: _distinct(found) for phase, found in left_phase.items()}

    raised = [u for u in history.unknowns if window.holds(u.created_at)]
    unknowns_raised = {phase: 0 for phase in PHASES}
    for unknown in raised:
        unknowns_raised[unknown.phase_then] = unknowns_raised.get(unknown.phase_then, 0) + 1
    resolved = [u for u in history.unknowns if window.holds(u.resolved_at)]
    resolved_by_milestone: dict[int, list[float]] = defaultdict(list)
    for unknown in resolved:
        assert unknown.resolved_at is not None
        age = (unknown.resolved_at - unknown.created_at).total_seconds()
        resolved_by_milestone[unknown.milestone_id].append(age)

    deferrals = {"approved": 0, "rejected": 0}
    deferral_milestones: dict[str, list[MilestoneRow]] = {"approved": [], "rejected": []}
    for tally in history.deferrals:
        if tally.period == label:
            deferrals[tally.kind] += tally.count
            if tally.milestone_id in milestones:
                deferral_milestones[tally.kind].append(milestones[tally.milestone_id])

    reminders = {rule: 0 for rule in REMINDER_RULES}
    reminder_milestones: dict[str, list[MilestoneRow]] = {rule: [] for rule in REMINDER_RULES}
    for tally in history.reminders:
        if tally.period == label:
            reminders[tally.kind] += tally.count
            if tally.milestone_id in milestones:
                reminder_milestones[tally.kind].append(milestones[tally.milestone_id])

    breakout: dict[str, Breakout] = {}
    for lead in lead_times:
        milestone = lead.milestone
        mode = breakout.setdefault(milestone.breakout_mode, Breakout(milestone.breakout_mode))
        mode.milestones.append(milestone)
        counted = history.stories.get(milestone.id)
        if counted is not None:
            mode.stories += counted.stories
            mode.subtasks += counted.subtasks
            mode.without_subtasks += counted.without_subtasks
            if counted.without_subtasks:
                mode.lacking.append(milestone)

    return Figures(
        window=window,
        phase_times=phase_times,
        median_seconds=median_seconds,
        lead_times=lead_times,
        reviews=reviews,
        move_backs=sorted(
            move_backs.values(),
            key=lambda b: (-b.count, PHASES.index(b.from_phase), PHASES.index(b.to_phase)),
        ),
        left_phase=left_phase,
        unknowns_raised=unknowns_raised,
        late_unknowns=[u for u in raised if u.phase_then in LATE_PHASES],
        resolution_seconds=[age for ages in resolved_by_milestone.values() for age in ages],
        resolved_by_milestone=dict(resolved_by_milestone),
        deferrals=deferrals,
        deferral_milestones={k: _distinct(v) for k, v in deferral_milestones.items()},
        reminders=reminders,
        reminder_milestones={k: _distinct(v) for k, v in reminder_milestones.items()},
        breakout=sorted(breakout.values(), key=lambda b: b.mode),
        milestones=milestones,
    )
