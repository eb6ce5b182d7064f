"""Insights (DESIGN §9): each figure from a small history made by hand, worked out by hand.

The history: a squad in engineer breakout mode with milestones A, B and C, and
a second squad in meeting mode whose milestone D shares A's principal
engineer. D(n) is midnight UTC n days after 1 March 2030. The period asked for
is March (31 days); the previous period is the 31 days before it, from
29 January to 28 February. "Now" is D(40), 10 April, so time still running at
the end of March counts up to the period's end and no further.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notifications.models import Notification
from planning.insights import Period, Scope, read_insights
from planning.insights.history import REMINDER_RULES
from planning.models import DeferralRequest, DesignReview, Milestone, Unknown
from planning.workflow import BreakoutMode, Phase
from squads.models import Membership
from tests.factories import (
    ActivityFactory,
    DeferralRequestFactory,
    DesignReviewFactory,
    MembershipFactory,
    MilestoneFactory,
    NotificationFactory,
    ProjectFactory,
    SquadFactory,
    StoryFactory,
    SubtaskFactory,
    UnknownFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MARCH_1 = datetime(2030, 3, 1, tzinfo=UTC)
NOW = MARCH_1 + timedelta(days=40)
MARCH = Period.of(date(2030, 3, 1), date(2030, 3, 31))


def D(days: float) -> datetime:
    return MARCH_1 + timedelta(days=days)


def stamp(row, **times: datetime) -> None:
    """Set times that the database fills in on creation (auto_now_add) to those of the story."""
    type(row).objects.filter(pk=row.pk).update(**times)
    for name, value in times.items():
        setattr(row, name, value)


def milestone(project, created: float, title: str = "") -> Milestone:
    made = MilestoneFactory(project=project, title=title or f"Milestone created on day {created}")
    stamp(made, created_at=D(created))
    return made


def moves(made: Milestone, *steps: tuple[float, str]) -> None:
    """Phase moves as the engine records them: (day, phase moved to)."""
    phase = Phase.ARCHITECTURE.value
    for day, to in steps:
        back = Phase.values.index(to) < Phase.values.index(phase)
        row = ActivityFactory(
            milestone=made,
            verb="phase_moved_back" if back else "phase_advanced",
            data={
                "from_phase": phase,
                "to_phase": to,
                "note": "Review asked for changes" if back else "",
            },
        )
        stamp(row, created_at=D(day))
        phase = to
    Milestone.objects.filter(pk=made.pk).update(phase=phase)


def unknown(made: Milestone, created: float, resolved: float | None = None) -> Unknown:
    added = UnknownFactory(
        milestone=made,
        status=Unknown.Status.RESOLVED if resolved is not None else Unknown.Status.OPEN,
    )
    stamp(added, created_at=D(created))
    if resolved is not None:
        row = ActivityFactory(milestone=made, verb="unknown_resolved", data={"unknown": added.pk})
        stamp(row, created_at=D(resolved))
    return added


def deferral(of: Unknown, status: str, decided: float, *, decider=True) -> DeferralRequest:
    made = DeferralRequestFactory(unknown=of, status=status, decided_at=D(decided))
    if not decider:
        # Withdrawn when its unknown was resolved: closed, but decided by nobody.
        DeferralRequest.objects.filter(pk=made.pk).update(decided_by=None)
    return made


def review(made: Milestone, closed: float, outcome: str) -> DesignReview:
    return DesignReviewFactory(
        milestone=made, status=DesignReview.Status.CLOSED, outcome=outcome, closed_at=D(closed)
    )


def reminder(rule: str, subject_id: int, sent: float, recipient, cycle: int = 1) -> Notification:
    """A reminder named as the sweep names them: rule, object, recipient, cycle."""
    made = NotificationFactory(
        recipient=recipient,
        kind=rule,
        dedupe_key=f"{rule}:{subject_id}:{recipient.pk}:1700000000:{cycle}",
    )
    stamp(made, created_at=D(sent))
    return made


@pytest.fixture
def world(squad, project, tech_lead, engineer, principal, outsider):
    """The history of the module docstring; every number the tests expect comes from here."""
    squad.breakout_mode = BreakoutMode.ENGINEER
    squad.save()
    # A: created 1 March; back from design review once; done on D(18).
    a = milestone(project, 0, "Tokenise cards")
    moves(
        a,
        (2, Phase.PROTOCOLS),  # architecture D0 to D2: 2 days
        (3, Phase.DESIGN_SPEC),  # protocols D2 to D3: 1
        (6, Phase.UNKNOWNS),  # design spec D3 to D6: 3
        (7, Phase.DESIGN_REVIEW),  # unknowns D6 to D7: 1
        (9, Phase.DESIGN_SPEC),  # design review D7 to D9: 2, then back
        (10, Phase.UNKNOWNS),  # design spec again D9 to D10: +1 = 4
        (11, Phase.DESIGN_REVIEW),  # unknowns again D10 to D11: +1 = 2
        (14, Phase.KICKOFF),  # design review again D11 to D14: +3 = 5
        (15, Phase.TASK_BREAKOUT),  # kick-off D14 to D15: 1
        (18, Phase.DONE),  # task breakout D15 to D18: 3; lead time D0 to D18: 18
    )
    # B: created 19 February, in the previous period; back from design review on D(13).
    b = milestone(project, -10, "Refunds")
    moves(
        b,
        (-4, Phase.PROTOCOLS),  # architecture D-10 to D-4: 6 days, all in the previous period
        (5, Phase.DESIGN_SPEC),  # protocols D-4 to D5: 4 before March, 5 in it
        (8, Phase.UNKNOWNS),  # design spec D5 to D8: 3
        (12, Phase.DESIGN_REVIEW),  # unknowns D8 to D12: 4
        (13, Phase.DESIGN_SPEC),  # design review D12 to D13: 1, then back
    )  # design spec again from D13 to the period's end D31: +18 = 21
    # C: created on D(20), never moved: architecture D20 to D31, 11 days.
    other_project = ProjectFactory(
        squad=squad, name="Wallet", slug="wallet", tech_lead=tech_lead, principal_engineer=principal
    )
    c = milestone(other_project, 20, "Saved cards")

    review(a, 8, DesignReview.Outcome.CHANGES_REQUESTED)
    a_round_2 = review(a, 13, DesignReview.Outcome.APPROVED)
    review(b, 12.5, DesignReview.Outcome.CHANGES_REQUESTED)

    unknown(a, 1, resolved=4)  # raised in architecture; 3 days to resolve
    a_u2 = unknown(a, 6.5, resolved=8.5)  # unknowns phase; 2 days
    unknown(a, 14.5, resolved=17.5)  # kick-off: late; 3 days
    a_u4 = unknown(a, 16)  # task breakout: late
    a_u4_deferral = deferral(a_u4, DeferralRequest.Status.APPROVED, 17)
    b_u1 = unknown(b, -5, resolved=2)  # raised before March, resolved in it: 7 days
    b_u2 = unknown(b, 9)  # unknowns phase
    deferral(b_u2, DeferralRequest.Status.REJECTED, 10)
    deferral(b_u2, DeferralRequest.Status.REJECTED, 11)
    c_u1 = unknown(c, 25)  # architecture
    deferral(c_u1, DeferralRequest.Status.REJECTED, 26, decider=False)  # withdrawn: not counted

    reminder("owner_nudge", a_u2.pk, 7, engineer, cycle=1)
    reminder("owner_nudge", a_u2.pk, 8, engineer, cycle=2)
    for day, cycle in ((10, 1), (11, 2), (12, 3)):
        reminder("escalation", b_u2.pk, day, tech_lead, cycle)
    reminder("escalation", b_u1.pk, -2, tech_lead)  # the previous period
    reminder("deferral_pending", a_u4_deferral.pk, 16.5, principal)
    reminder("review_at_risk", a_round_2.pk, 12, tech_lead)
    # Not counted: another squad's unknown, and a message that is not a reminder.
    elsewhere = UnknownFactory(
        milestone=MilestoneFactory(project=ProjectFactory(squad=SquadFactory()))
    )
    reminder("escalation", elsewhere.pk, 10, outsider)
    stamp(NotificationFactory(recipient=engineer, kind="unknown_assigned"), created_at=D(10))

    # A's stories: S-1 with two sub-tasks, S-2 with one, S-3 with none.
    s1, s2 = StoryFactory(milestone=a), StoryFactory(milestone=a)
    StoryFactory(milestone=a)
    SubtaskFactory(story=s1), SubtaskFactory(story=s1), SubtaskFactory(story=s2)

    # D: the meeting-mode squad, its project overseen by the same principal; done on D(20).
    meeting_squad = SquadFactory(
        name="Checkout", slug="checkout", breakout_mode=BreakoutMode.MEETING
    )
    lead_d = UserFactory(username="dora")
    MembershipFactory(squad=meeting_squad, user=lead_d, role=Membership.Role.TECH_LEAD)
    d = milestone(
        ProjectFactory(
            squad=meeting_squad,
            name="Checkout",
            slug="checkout",
            tech_lead=lead_d,
            principal_engineer=principal,
        ),
        4,
        "One-click checkout",
    )
    moves(
        d,
        (5, Phase.PROTOCOLS),
        (6, Phase.DESIGN_SPEC),
        (7, Phase.UNKNOWNS),
        (8, Phase.DESIGN_REVIEW),
        (10, Phase.KICKOFF),
        (11, Phase.TASK_BREAKOUT),
        (20, Phase.DONE),  # lead time D4 to D20: 16 days
    )
    for _ in range(2):
        story = StoryFactory(milestone=d)
        SubtaskFactory(story=story), SubtaskFactory(story=story)
    return {"a": a, "b": b, "c": c, "d": d, "squad": squad, "meeting_squad": meeting_squad}


def squad_insights(world, **kwargs):
    return read_insights(Scope.squad(world["squad"].pk, **kwargs), MARCH, now=NOW)


def by_label(rows, attribute="milestone"):
    return {getattr(row, attribute).title: row for row in rows}


def days_by_milestone(figures):
    return {
        t.milestone.title: {phase: round(s / 86400, 1) for phase, s in t.seconds.items()}
        for t in figures.phase_times
    }


def test_time_in_each_phase_counts_a_move_back_in_the_phase_it_left_and_adds_a_return(world):
    insights = squad_insights(world)

    assert days_by_milestone(insights.current) == {
        # A: the stays listed in `world`; design spec 3 + 1 after the move back, unknowns
        # 1 + 1, design review 2 before the move back + 3 after it.
        "Tokenise cards": {
            "architecture": 2.0,
            "protocols": 1.0,
            "design_spec": 4.0,
            "unknowns": 2.0,
            "design_review": 5.0,
            "kickoff": 1.0,
            "task_breakout": 3.0,
        },
        # B: protocols from D-4, of which D0 to D5 is in March; design spec D5 to D8 = 3, and
        # again from D13 to the period's end D31 = 18: 21.
        "Refunds": {"protocols": 5.0, "design_spec": 21.0, "unknowns": 4.0, "design_review": 1.0},
        # C: never moved; architecture from D20 to the period's end: 11, not until "now" (D40).
        "Saved cards": {"architecture": 11.0},
    }
    # The previous period (29 Jan to 28 Feb) saw only B: architecture 19 to 25 Feb (6 days),
    # protocols 25 Feb to 1 Mar (4 days).
    assert days_by_milestone(insights.previous) == {
        "Refunds": {"architecture": 6.0, "protocols": 4.0}
    }


def test_median_days_per_phase_is_taken_over_the_milestones_that_spent_time_in_it(world):
    medians = {
        phase: None if s is None else round(s / 86400, 2)
        for phase, s in squad_insights(world).current.median_seconds.items()
    }

    assert medians == {
        "architecture": 6.5,  # A 2, C 11
        "protocols": 3.0,  # A 1, B 5
        "design_spec": 12.5,  # A 4, B 21
        "unknowns": 3.0,  # A 2, B 4
        "design_review": 3.0,  # A 5, B 1
        "kickoff": 1.0,  # A only
        "task_breakout": 3.0,  # A only
    }


def test_lead_time_runs_from_creation_to_done(world):
    insights = squad_insights(world)

    # A: created D0, done D18. B and C are not done.
    assert [
        (lead.milestone.title, lead.seconds / 86400) for lead in insights.current.lead_times
    ] == [("Tokenise cards", 18.0)]
    assert insights.current.median_lead_seconds == 18 * 86400
    assert insights.previous.lead_times == []


def test_review_rounds_per_milestone_with_their_outcomes(world):
    current = squad_insights(world).current

    rounds = {
        r.milestone.title: (r.rounds, r.approved, r.changes_requested) for r in current.reviews
    }
    # A: changes requested on D8, approved on D13; B: changes requested on D12.5.
    assert rounds == {"Tokenise cards": (2, 1, 1), "Refunds": (1, 0, 1)}
    # 2 + 1 rounds; 1 approved; 1 + 1 with changes requested.
    assert (current.review_rounds, current.reviews_approved, current.reviews_changes_requested) == (
        3,
        1,
        2,
    )


def test_move_backs_are_counted_from_and_to(world):
    current = squad_insights(world).current

    # A on D9 and B on D13, both from design review to design spec.
    assert [(b.from_phase, b.to_phase, b.count) for b in current.move_backs] == [
        ("design_review", "design_spec", 2)
    ]
    assert [m.title for m in current.move_backs[0].milestones] == ["Tokenise cards", "Refunds"]
    # Both left design review in March (A twice, B once): the denominator of the signal.
    assert {m.title for m in current.left_phase["design_review"]} == {"Refunds", "Tokenise cards"}


def test_unknowns_per_phase_late_ones_and_median_age_at_resolution(world):
    insights = squad_insights(world)
    current = insights.current

    # Raised in March: A U-1 (architecture), A U-2 (unknowns, entered D6), A U-3 (kick-off),
    # A U-4 (task breakout), B U-2 (unknowns, B entered it D8), C U-1 (architecture).
    assert {p: n for p, n in current.unknowns_raised.items() if n} == {
        "architecture": 2,
        "unknowns": 2,
        "kickoff": 1,
        "task_breakout": 1,
    }
    # Late: raised in kick-off or task breakout, after the design review: 2 of 6.
    assert (current.unknowns_total, current.late_total) == (6, 2)
    # Before March only B U-1, on D-5 while B was still in architecture.
    assert {p: n for p, n in insights.previous.unknowns_raised.items() if n} == {"architecture": 1}
    # Resolved in March: A U-1 after 3 days, A U-2 after 2, A U-3 after 3, and B U-1 (raised in
    # February) after 7: sorted 2, 3, 3, 7, median (3 + 3) / 2 = 3.
    assert sorted(age / 86400 for age in current.resolution_seconds) == [2.0, 3.0, 3.0, 7.0]
    assert current.median_resolution_seconds == 3 * 86400


def test_deferrals_decided_count_approved_and_rejected_but_not_withdrawn(world):
    current = squad_insights(world).current

    # Approved: A U-4. Rejected: B U-2 twice. C U-1's was withdrawn (no decider): not counted.
    # Rate of rejection: 2 of 1 + 2 decided.
    assert current.deferrals == {"approved": 1, "rejected": 2}
    assert [m.title for m in current.deferral_milestones["rejected"]] == ["Refunds"]


def test_reminders_per_rule_and_escalations_count_only_the_squads_own(world):
    insights = squad_insights(world)

    # Owner nudges on A U-2 (2), escalations on B U-2 (3), a pending deferral of A U-4 (1),
    # A's second review at risk (1): 2 + 3 + 1 + 1 = 7. Another squad's escalation and a
    # message that is no reminder are not counted.
    assert insights.current.reminders == {
        "owner_nudge": 2,
        "escalation": 3,
        "blocker_overdue": 0,
        "vendor_followup": 0,
        "deferral_pending": 1,
        "review_at_risk": 1,
        **({"verdict_pending": 0} if "verdict_pending" in REMINDER_RULES else {}),
    }
    assert (insights.current.reminders_total, insights.current.escalations) == (7, 3)
    assert [m.title for m in insights.current.escalation_milestones] == ["Refunds"]
    # February: one escalation, on B U-1.
    assert (insights.previous.reminders_total, insights.previous.escalations) == (1, 1)


def test_task_breakout_of_milestones_done_by_breakout_mode(world, principal):
    squad_only = squad_insights(world).current
    overseen = read_insights(Scope.principal(principal.pk), MARCH, now=NOW).current

    def modes(figures):
        return {
            b.mode: (
                len(b.milestones),
                b.stories,
                b.subtasks,
                b.subtasks_per_story,
                b.without_subtasks,
            )
            for b in figures.breakout
        }

    # Engineer mode: A, done D18, with stories of 2, 1 and 0 sub-tasks: 3 / 3 = 1.0 per story.
    assert modes(squad_only) == {"engineer": (1, 3, 3, 1.0, 1)}
    # The principal engineer oversees D too (meeting mode): 2 stories of 2 sub-tasks, 4 / 2 = 2.0.
    assert modes(overseen) == {"engineer": (1, 3, 3, 1.0, 1), "meeting": (1, 2, 4, 2.0, 0)}
    # D: created D4, done D20: 16 days; A 18: the median of the two is (16 + 18) / 2 = 17.
    assert overseen.median_lead_seconds == 17 * 86400


def test_signals_say_which_figures_cross_their_thresholds_and_link_their_milestones(world):
    signals = {s.code: s for s in squad_insights(world).signals}

    assert list(signals) == [
        "move_back:design_review:design_spec",
        "late_unknowns",
        "deferrals_rejected",
        "review_rework",
        "escalations",
    ]
    assert signals["move_back:design_review:design_spec"].text == (
        "2 of the last 2 milestones went back from design review to design spec."
    )
    # 2 of 6 unknowns: 33 %, above 30 %.
    assert signals["late_unknowns"].text == (
        "33 % of unknowns were raised after the design review (2 of 6)."
    )
    assert [m.title for m in signals["late_unknowns"].milestones] == ["Tokenise cards"]
    assert signals["deferrals_rejected"].text == "2 of 3 deferral requests were rejected."
    # 3 escalations, at least 3 and at least 1.5 times February's 1.
    assert signals["escalations"].text == "3 escalations, against 1 in the previous period."
    assert [m.title for m in signals["escalations"].milestones] == ["Refunds"]


def test_a_project_filter_counts_only_that_project(world, project):
    insights = squad_insights(world, project_id=project.pk)

    assert {t.milestone.title for t in insights.current.phase_times} == {
        "Tokenise cards",
        "Refunds",
    }
    # Without C's unknown: 2 late of 5, 40 %.
    late = next(s for s in insights.signals if s.code == "late_unknowns")
    assert late.text == "40 % of unknowns were raised after the design review (2 of 5)."
