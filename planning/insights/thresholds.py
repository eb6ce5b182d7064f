"""Signals: plain sentences for the figures that cross a threshold, with the milestones behind them.

Every threshold is in the table below, named, with what it means; the tests
check each signal just below and at its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning.insights.figures import DAY, Figures, days
from planning.insights.history import MilestoneRow
from planning.workflow import Phase


@dataclass(frozen=True)
class Threshold:
    value: float
    meaning: str


THRESHOLDS: dict[str, Threshold] = {
    "move_back_share": Threshold(
        0.25, "Share of the milestones that left a phase which went back from it to the same phase."
    ),
    "move_back_count": Threshold(2, "…and at least this many milestones."),
    "late_unknown_share": Threshold(
        0.30, "Share of the unknowns raised that came after the design review."
    ),
    "late_unknown_count": Threshold(2, "…and at least this many late unknowns."),
    "deferral_rejection_share": Threshold(
        0.5, "Share of the decided deferrals that were rejected."
    ),
    "deferral_rejection_count": Threshold(2, "…and at least this many rejections."),
    "review_rework_share": Threshold(
        0.5, "Share of the milestones with a closed review round that had changes requested."
    ),
    "review_rework_count": Threshold(2, "…and at least this many milestones."),
    "phase_slowdown_ratio": Threshold(
        1.5, "Median days in a phase against the previous period's median."
    ),
    "phase_slowdown_days": Threshold(2, "…and the median is at least this many days."),
    "lead_time_ratio": Threshold(1.25, "Median lead time against the previous period's."),
    "escalation_ratio": Threshold(1.5, "Escalations against the previous period's."),
    "escalation_count": Threshold(3, "…and at least this many escalations."),
    "resolution_days": Threshold(14, "Median days from raising an unknown to resolving it."),
    "subtaskless_share": Threshold(
        0.25, "Share of the stories of milestones done that had no sub-task, per breakout mode."
    ),
    "subtaskless_count": Threshold(2, "…and at least this many stories."),
}


def threshold(name: str) -> float:
    return THRESHOLDS[name].value


@dataclass(frozen=True)
class Signal:
    code: str
    text: str
    milestones: list[MilestoneRow]


def _phase(value: str) -> str:
    return Phase(value).label.lower()


def _crosses(part: int, whole: int, share: str, count: str) -> bool:
    return whole > 0 and part >= threshold(count) and part / whole >= threshold(share)


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %"


def signals(current: Figures, previous: Figures) -> list[Signal]:
    """The sentences this period's figures call for, compared with the previous period's."""
    found: list[Signal] = []

    for back in current.move_backs:
        left = len(current.left_phase.get(back.from_phase, []))
        went_back = len(back.milestones)
        if _crosses(went_back, left, "move_back_share", "move_back_count"):
            found.append(
                Signal(
                    f"move_back:{back.from_phase}:{back.to_phase}",
                    f"{went_back} of the last {left} milestones went back from "
                    f"{_phase(back.from_phase)} to {_phase(back.to_phase)}.",
                    back.milestones,
                )
            )

    late, raised = current.late_total, current.unknowns_total
    if _crosses(late, raised, "late_unknown_share", "late_unknown_count"):
        late_ids = {unknown.milestone_id for unknown in current.late_unknowns}
        found.append(
            Signal(
                "late_unknowns",
                f"{_percent(late, raised)} of unknowns were raised after the design review "
                f"({late} of {raised}).",
                _in(current, late_ids),
            )
        )

    rejected = current.deferrals["rejected"]
    decided = rejected + current.deferrals["approved"]
    if _crosses(rejected, decided, "deferral_rejection_share", "deferral_rejection_count"):
        found.append(
            Signal(
                "deferrals_rejected",
                f"{rejected} of {decided} deferral requests were rejected.",
                current.deferral_milestones["rejected"],
            )
        )

    reworked = [review.milestone for review in current.reviews if review.changes_requested]
    reviewed = len(current.reviews)
    if _crosses(len(reworked), reviewed, "review_rework_share", "review_rework_count"):
        found.append(
            Signal(
                "review_rework",
                f"Design review asked for changes on {len(reworked)} of the {reviewed} "
                "milestones reviewed.",
                reworked,
            )
        )

    for phase, now in current.median_seconds.items():
        before = previous.median_seconds.get(phase)
        if (
            now is not None
            and before
            and now >= threshold("phase_slowdown_ratio") * before
            and now >= threshold("phase_slowdown_days") * DAY
        ):
            found.append(
                Signal(
                    f"slower:{phase}",
                    f"Median time in {_phase(phase)} rose to {days(now)} days "
                    f"from {days(before)} in the previous period.",
                    [t.milestone for t in current.phase_times if t.seconds.get(phase, 0) > before],
                )
            )

    now_lead, before_lead = current.median_lead_seconds, previous.median_lead_seconds
    if (
        now_lead is not None
        and before_lead
        and now_lead >= threshold("lead_time_ratio") * before_lead
    ):
        found.append(
            Signal(
                "lead_time",
                f"Median lead time from creation to done rose to {days(now_lead)} days "
                f"from {days(before_lead)} in the previous period.",
                [lead.milestone for lead in current.lead_times if lead.seconds > before_lead],
            )
        )

    now_esc, before_esc = current.escalations, previous.escalations
    if now_esc >= threshold("escalation_count") and (
        now_esc >= threshold("escalation_ratio") * before_esc
    ):
        against = f"against {before_esc}" if before_esc else "against none"
        found.append(
            Signal(
                "escalations",
                f"{now_esc} escalations, {against} in the previous period.",
                current.escalation_milestones,
            )
        )

    median_age = current.median_resolution_seconds
    if median_age is not None and median_age >= threshold("resolution_days") * DAY:
        slow_ids = {
            milestone_id
            for milestone_id, ages in current.resolved_by_milestone.items()
            if max(ages) >= threshold("resolution_days") * DAY
        }
        found.append(
            Signal(
                "slow_resolution",
                f"Unknowns took {days(median_age)} days to resolve (median of "
                f"{len(current.resolution_seconds)}).",
                _in(current, slow_ids),
            )
        )

    for mode in current.breakout:
        if _crosses(mode.without_subtasks, mode.stories, "subtaskless_share", "subtaskless_count"):
            found.append(
                Signal(
                    f"subtaskless:{mode.mode}",
                    f"{mode.without_subtasks} of {mode.stories} stories reached done without "
                    f"a sub-task ({mode.mode} breakout).",
                    mode.lacking,
                )
            )
    return found


def _in(figures: Figures, ids: set[int]) -> list[MilestoneRow]:
    return [milestone for milestone in figures.milestones.values() if milestone.id in ids]
