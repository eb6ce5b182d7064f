"""Each signal at its threshold and just below it, on figures made by hand (no database).

The thresholds live in one table, `planning.insights.thresholds.THRESHOLDS`;
these tests read their values from it, so a changed threshold moves its test.
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from typing import Any

import pytest

from planning.insights import Period, thresholds
from planning.insights.figures import (
    DAY,
    TIMED_PHASES,
    Breakout,
    Figures,
    LeadTime,
    MoveBack,
    ReviewRounds,
)
from planning.insights.history import REMINDER_RULES, MilestoneRow, UnknownRow
from planning.insights.thresholds import THRESHOLDS, signals

pytestmark = pytest.mark.database_free

PERIOD = Period.of(date(2030, 3, 1), date(2030, 3, 31))
WHEN = datetime(2030, 3, 10, tzinfo=UTC)


def milestone(number: int, mode: str = "engineer") -> MilestoneRow:
    return MilestoneRow(
        number, number, f"Milestone {number}", "done", WHEN, 1, "Vault", "vault", "pay", "Pay", mode
    )


def figures(**given) -> Figures:
    """Figures of a window where nothing happened, but for what is given."""
    blank: dict[str, Any] = {
        "window": PERIOD.current,
        "phase_times": [],
        "median_seconds": dict.fromkeys(TIMED_PHASES),
        "lead_times": [],
        "reviews": [],
        "move_backs": [],
        "left_phase": {phase: [] for phase in TIMED_PHASES},
        "unknowns_raised": {},
        "late_unknowns": [],
        "resolution_seconds": [],
        "resolved_by_milestone": {},
        "deferrals": {"approved": 0, "rejected": 0},
        "deferral_milestones": {"approved": [], "rejected": []},
        "reminders": dict.fromkeys(REMINDER_RULES, 0),
        "reminder_milestones": {rule: [] for rule in REMINDER_RULES},
        "breakout": [],
        "milestones": {},
    }
    return Figures(**(blank | given))


def codes(now: Figures, before: Figures | None = None) -> list[str]:
    return [signal.code for signal in signals(now, before or figures())]


def value(name: str) -> float:
    return THRESHOLDS[name].value


def test_every_threshold_in_the_table_is_read_by_a_signal():
    source = inspect.getsource(thresholds.signals)
    assert [name for name in THRESHOLDS if f'"{name}"' not in source] == []


def moved_back(went_back: int, left: int) -> Figures:
    ms = [milestone(n) for n in range(1, left + 1)]
    return figures(
        move_backs=[MoveBack("design_review", "design_spec", went_back, ms[:went_back])],
        left_phase={**{p: [] for p in TIMED_PHASES}, "design_review": ms},
    )


def test_move_backs_signal_from_a_quarter_of_the_milestones_that_left_the_phase():
    assert value("move_back_share") == 0.25 and value("move_back_count") == 2
    assert codes(moved_back(2, 8)) == ["move_back:design_review:design_spec"]  # 2 / 8 = 25 %
    assert codes(moved_back(2, 9)) == []  # 2 / 9 = 22 %
    assert codes(moved_back(1, 4)) == []  # 25 %, but only one milestone


def test_the_move_back_sentence_names_both_phases():
    [signal] = signals(moved_back(2, 4), figures())
    assert signal.text == "2 of the last 4 milestones went back from design review to design spec."
    assert [m.number for m in signal.milestones] == [1, 2]


def late(late: int, raised: int) -> Figures:
    unknowns = [UnknownRow(n, 1, WHEN, "kickoff", None) for n in range(late)]
    return figures(
        unknowns_raised={"unknowns": raised - late, "kickoff": late},
        late_unknowns=unknowns,
        milestones={1: milestone(1)},
    )


def test_late_unknowns_signal_from_30_percent():
    assert value("late_unknown_share") == 0.30 and value("late_unknown_count") == 2
    assert codes(late(3, 10)) == ["late_unknowns"]  # 30 %
    assert codes(late(2, 7)) == []  # 28.6 %
    assert codes(late(1, 2)) == []  # 50 %, but only one
    assert signals(late(4, 10), figures())[0].text == (
        "40 % of unknowns were raised after the design review (4 of 10)."
    )


def rejected(rejected: int, approved: int) -> Figures:
    return figures(deferrals={"approved": approved, "rejected": rejected})


def test_rejected_deferrals_signal_from_half_of_those_decided():
    assert value("deferral_rejection_share") == 0.5 and value("deferral_rejection_count") == 2
    assert codes(rejected(2, 2)) == ["deferrals_rejected"]  # 2 of 4
    assert codes(rejected(2, 3)) == []  # 2 of 5
    assert codes(rejected(1, 0)) == []  # 1 of 1, but only one


def reviewed(with_changes: int, reviewed: int) -> Figures:
    return figures(
        reviews=[
            ReviewRounds(milestone(n), 2 if n <= with_changes else 1, 1, int(n <= with_changes))
            for n in range(1, reviewed + 1)
        ]
    )


def test_review_rework_signal_from_half_of_the_milestones_reviewed():
    assert value("review_rework_share") == 0.5 and value("review_rework_count") == 2
    assert codes(reviewed(2, 4)) == ["review_rework"]
    assert codes(reviewed(2, 5)) == []
    assert codes(reviewed(1, 1)) == []


def median_in_review(days: float | None) -> Figures:
    medians = dict.fromkeys(TIMED_PHASES)
    medians["design_review"] = None if days is None else days * DAY
    return figures(median_seconds=medians)


def test_slower_phase_signal_at_one_and_a_half_times_and_two_days():
    assert value("phase_slowdown_ratio") == 1.5 and value("phase_slowdown_days") == 2
    assert codes(median_in_review(3), median_in_review(2)) == ["slower:design_review"]
    assert codes(median_in_review(2.9), median_in_review(2)) == []
    assert codes(median_in_review(1.5), median_in_review(1)) == []  # 1.5 times, under 2 days
    assert codes(median_in_review(3), median_in_review(None)) == []  # nothing to compare


def lead(days: float) -> Figures:
    return figures(lead_times=[LeadTime(milestone(1), WHEN, days * DAY)])


def test_lead_time_signal_at_a_quarter_longer():
    assert value("lead_time_ratio") == 1.25
    assert codes(lead(25), lead(20)) == ["lead_time"]
    assert codes(lead(24.9), lead(20)) == []


def escalated(count: int) -> Figures:
    return figures(reminders={**dict.fromkeys(REMINDER_RULES, 0), "escalation": count})


def test_escalations_signal_at_three_and_half_as_many_again():
    assert value("escalation_ratio") == 1.5 and value("escalation_count") == 3
    assert codes(escalated(3), escalated(2)) == ["escalations"]
    assert codes(escalated(4), escalated(3)) == []  # 1.33 times
    assert codes(escalated(2), escalated(0)) == []  # fewer than 3
    assert signals(escalated(3), escalated(0))[0].text == (
        "3 escalations, against none in the previous period."
    )


def resolution(days: float) -> Figures:
    return figures(resolution_seconds=[days * DAY], resolved_by_milestone={1: [days * DAY]})


def test_slow_resolution_signal_from_two_weeks():
    assert value("resolution_days") == 14
    assert codes(resolution(14)) == ["slow_resolution"]
    assert codes(resolution(13.9)) == []


def subtaskless(without: int, stories: int) -> Figures:
    mode = Breakout("engineer", [milestone(1)], stories, stories - without, without, [milestone(1)])
    return figures(breakout=[mode])


def test_stories_without_subtasks_signal_from_a_quarter():
    assert value("subtaskless_share") == 0.25 and value("subtaskless_count") == 2
    assert codes(subtaskless(2, 8)) == ["subtaskless:engineer"]
    assert codes(subtaskless(2, 9)) == []
    assert codes(subtaskless(1, 4)) == []
