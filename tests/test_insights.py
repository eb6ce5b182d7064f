"""Insights (DESIGN §9): each figure from a small history made by hand, worked out by hand.

The history: a squad in engineer breakout mode with milestones A, B and C, and
a second squad in meeting mode whose milestone D shares A's principal
engineer. D(n) is midnight UTC n days after 1 March 2030. The period asked for
is March (31 days); the previous period is the 31 days before it, from
29 January to 28 February. "Now" is D(40), 10 April, so time still running at
the end of March counts up to the period's end and no further.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import cast

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from notifications.models import Notification
from planning.insights import Period, Scope, read_insights
from planning.insights.history import REMINDER_RULES
from planning.models import (
    Activity,
    DeferralRequest,
    DesignReview,
    Milestone,
    Story,
    Subtask,
    Unknown,
)
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
from tests.helpers import assert_api_not_found, assert_not_found_page

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
    made = cast(
        Milestone,
        MilestoneFactory(project=project, title=title or f"Milestone created on day {created}"),
    )
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
    added = cast(
        Unknown,
        UnknownFactory(
            milestone=made,
            status=Unknown.Status.RESOLVED if resolved is not None else Unknown.Status.OPEN,
        ),
    )
    stamp(added, created_at=D(created))
    if resolved is not None:
        row = ActivityFactory(milestone=made, verb="unknown_resolved", data={"unknown": added.pk})
        stamp(row, created_at=D(resolved))
    return added


def deferral(of: Unknown, status: str, decided: float, *, decider=True) -> DeferralRequest:
    made = cast(
        DeferralRequest, DeferralRequestFactory(unknown=of, status=status, decided_at=D(decided))
    )
    if not decider:
        # Withdrawn when its unknown was resolved: closed, but decided by nobody.
        DeferralRequest.objects.filter(pk=made.pk).update(decided_by=None)
    return made


def review(made: Milestone, closed: float, outcome: str) -> DesignReview:
    return cast(
        DesignReview,
        DesignReviewFactory(
            milestone=made, status=DesignReview.Status.CLOSED, outcome=outcome, closed_at=D(closed)
        ),
    )


def reminder(rule: str, subject_id: int, sent: float, recipient, cycle: int = 1) -> Notification:
    """A reminder named as the sweep names them: rule, object, recipient, cycle."""
    made = cast(
        Notification,
        NotificationFactory(
            recipient=recipient,
            kind=rule,
            dedupe_key=f"{rule}:{subject_id}:{recipient.pk}:1700000000:{cycle}",
        ),
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


# Pages, CSV and API ---------------------------------------------------------------

MARCH_QUERY = {"since": "2030-03-01", "until": "2030-03-31"}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def page_url(world) -> str:
    return reverse("planning:squad-insights", args=[world["squad"].slug])


def api_url(world) -> str:
    return f"/api/v1/squads/{world['squad'].slug}/insights/"


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class Tables(HTMLParser):
    """The tables of an insights page, by name: their rows as the text of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "div" and (found.get("id") or "").startswith("table-"):
            self.current = found["id"].removeprefix("table-")
            self.tables[self.current] = []
        elif self.current and tag == "tr":
            self.tables[self.current].append([])
        elif self.current and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.current and tag in ("td", "th") and self.cell is not None:
            self.tables[self.current][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def page_tables(response) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def test_a_member_sees_the_squad_page_with_signals_charts_and_tables(
    world, engineer, client_for, clock
):
    response = client_for(engineer).get(page_url(world), MARCH_QUERY)

    assert response.status_code == 200
    page = response.content.decode()
    assert "2 of the last 2 milestones went back from design review to design spec." in page
    assert 'role="img"' in page and '<title id="chart-phase-time-title">' in page
    shown = page_tables(response)
    assert set(shown) == {
        "summary", "phase-time", "phase-medians", "lead-time", "reviews", "move-backs",
        "unknowns", "reminders", "breakout",
    }  # fmt: skip
    assert shown["phase-time"][0] == [
        "Milestone", "Architecture", "Protocols", "Design spec", "Unknowns", "Design review",
        "Kick-off", "Task breakout", "Total",
    ]  # fmt: skip
    # A: 2 + 1 + 4 + 2 + 5 + 1 + 3 = 18 days.
    assert shown["phase-time"][1] == [
        "Card Vault M1", "2.0", "1.0", "4.0", "2.0", "5.0", "1.0", "3.0", "18.0",
    ]  # fmt: skip
    assert ["Kick-off (late)", "1", "0"] in shown["unknowns"]


def test_the_squad_page_links_the_insights(world, engineer, client_for):
    page = client_for(engineer).get(world["squad"].get_absolute_url()).content.decode()

    assert page_url(world) in page


def test_outsiders_get_404_from_the_page_and_the_api(world, outsider, principal, client_for):
    assert_not_found_page(client_for(outsider).get(page_url(world)), "Payments")
    assert_api_not_found(api_as(outsider).get(api_url(world)), "Payments")
    # The principal engineer is not a member: the squad's page is not theirs either.
    assert_not_found_page(client_for(principal).get(page_url(world)), "Payments")


def test_the_principal_engineer_sees_every_project_they_oversee(
    world, principal, client_for, clock
):
    response = client_for(principal).get(reverse("planning:insights"), MARCH_QUERY)

    assert response.status_code == 200
    breakout = page_tables(response)["breakout"]
    assert breakout[1:] == [
        ["Engineer", "1", "3", "3", "1.0", "1"],
        ["Meeting", "1", "2", "4", "2.0", "0"],
    ]
    assert "Insights" in client_for(principal).get(reverse("dashboard")).content.decode()


def test_someone_who_oversees_nothing_is_pointed_to_their_squads(world, engineer, client_for):
    response = client_for(engineer).get(reverse("planning:insights"))

    assert response.status_code == 200
    assert page_url(world) in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2030-04-01", "until": "2030-03-01"},
        {"since": "2030-02-30"},
        {"until": "soon"},
        {"since": "0001-01-01"},
        {"project": "987654321"},
    ],
)
def test_bad_dates_and_projects_are_refused_with_400(world, engineer, client_for, query):
    page = client_for(engineer).get(page_url(world), query)
    api = api_as(engineer).get(api_url(world), query)

    assert page.status_code == 400
    assert 'role="alert"' in page.content.decode()
    assert api.status_code == 400
    assert set(api.json()) <= {"since", "until", "project", "non_field_errors"}


def test_the_api_refuses_a_format_it_does_not_have(world, engineer):
    answer = api_as(engineer).get(api_url(world), {"format": "xml"})

    assert answer.status_code == 400
    assert "format" in answer.json()


def test_the_api_page_and_csv_carry_the_same_figures(world, engineer, client_for, clock):
    shown = page_tables(client_for(engineer).get(page_url(world), MARCH_QUERY))
    api = api_as(engineer).get(api_url(world), MARCH_QUERY).json()
    as_csv = api_as(engineer).get(api_url(world), {**MARCH_QUERY, "format": "csv"})
    by_header = api_as(engineer).get(api_url(world), MARCH_QUERY, HTTP_ACCEPT="text/csv")
    page_csv = client_for(engineer).get(
        page_url(world), {**MARCH_QUERY, "format": "csv", "table": "phase-time"}
    )

    assert as_csv["Content-Type"].startswith("text/csv")
    assert by_header.content == as_csv.content
    figures = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    # Time in phase: the page's table, its CSV, the API's CSV and its JSON.
    from_csv = list(csv.reader(io.StringIO(page_csv.content.decode())))
    assert [[value or "—" for value in row] for row in from_csv] == shown["phase-time"]
    for row in shown["phase-time"][1:]:
        from_api = next(
            t for t in api["current"]["time_in_phase"] if t["milestone"]["label"] == row[0]
        )
        assert [str(v) if v is not None else "—" for v in from_api["days"].values()] == row[1:-1]
        assert str(from_api["total_days"]) == row[-1]
    # Every cell of every table is a line of the API's CSV.
    for name, rows in shown.items():
        columns = rows[0]
        for row in rows[1:]:
            for column, value in zip(columns[1:], row[1:], strict=True):
                line = {"table": name, "row": row[0], "column": column}
                found = [f["value"] for f in figures if {k: f[k] for k in line} == line]
                assert found and (found[0] or "—") == value, (line, found, value)
    # The summary's numbers, in the API's JSON.
    summary = {row[0]: row[1:] for row in shown["summary"][1:]}
    now, before = api["current"], api["previous"]
    assert summary["Design review rounds closed"] == [
        str(now["reviews"]["rounds"]),
        str(before["reviews"]["rounds"]),
    ]
    assert summary["Unknowns raised after the design review (late)"] == [
        str(now["unknowns"]["late"]),
        str(before["unknowns"]["late"]),
    ]
    assert summary["Median days to resolve an unknown"] == [
        str(now["unknowns"]["median_days_to_resolve"]),
        "—",
    ]
    assert summary["Deferrals rejected"] == [str(now["unknowns"]["deferrals_rejected"]), "0"]
    assert summary["Escalations"] == [
        str(now["reminders"]["escalations"]),
        str(before["reminders"]["escalations"]),
    ]
    assert (
        api["signals"][0]["text"]
        == "2 of the last 2 milestones went back from design review to design spec."
    )


def test_each_table_downloads_as_csv(world, engineer, client_for, clock):
    answer = client_for(engineer).get(
        page_url(world), {**MARCH_QUERY, "format": "csv", "table": "reviews"}
    )

    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert "payments-insights-2030-03-01-2030-03-31-reviews.csv" in answer["Content-Disposition"]
    assert list(csv.reader(io.StringIO(answer.content.decode()))) == [
        ["Milestone", "Rounds", "Approved", "Changes requested"],
        ["Card Vault M1", "2", "1", "1"],
        ["Card Vault M2", "1", "0", "1"],
    ]


# A fixed number of queries ----------------------------------------------------------


def grow(project, count: int) -> None:
    """`count` milestones with A's history each, written in bulk: the data grows, not the code."""
    lead, principal = project.tech_lead, project.principal_engineer
    first = project.milestones.count() + 1
    made = Milestone.objects.bulk_create(
        Milestone(
            project=project, number=first + i, title=f"Grown {i}", tech_lead=lead, phase=Phase.DONE
        )
        for i in range(count)
    )
    ids = [m.pk for m in made]
    Milestone.objects.filter(pk__in=ids).update(created_at=D(0))
    steps = [
        (2, Phase.PROTOCOLS), (3, Phase.DESIGN_SPEC), (6, Phase.UNKNOWNS), (7, Phase.DESIGN_REVIEW),
        (9, Phase.DESIGN_SPEC), (10, Phase.UNKNOWNS), (11, Phase.DESIGN_REVIEW), (14, Phase.KICKOFF),
        (15, Phase.TASK_BREAKOUT), (18, Phase.DONE),
    ]  # fmt: skip
    rows = []
    for m in made:
        phase = Phase.ARCHITECTURE.value
        for step, (_, to) in enumerate(steps):
            back = Phase.values.index(to) < Phase.values.index(phase)
            verb = "phase_moved_back" if back else "phase_advanced"
            rows.append(
                Activity(
                    milestone=m,
                    verb=verb,
                    summary=f"grown {step}",
                    data={"from_phase": phase, "to_phase": to},
                )
            )
            phase = to
    Activity.objects.bulk_create(rows)
    for step, (day, _) in enumerate(steps):
        Activity.objects.filter(milestone_id__in=ids, summary=f"grown {step}").update(
            created_at=D(day)
        )
    unknowns = Unknown.objects.bulk_create(
        Unknown(milestone=m, number=1, title="Grown") for m in made
    )
    Unknown.objects.filter(pk__in=[u.pk for u in unknowns]).update(created_at=D(1))
    Activity.objects.bulk_create(
        Activity(
            milestone_id=u.milestone_id,
            verb="unknown_resolved",
            summary="grown resolved",
            data={"unknown": u.pk},
        )
        for u in unknowns
    )
    Activity.objects.filter(summary="grown resolved").update(created_at=D(4))
    DesignReview.objects.bulk_create(
        DesignReview(
            milestone=m,
            round=1,
            scheduled_for=D(8),
            status="closed",
            outcome="approved",
            closed_at=D(8),
        )
        for m in made
    )
    DeferralRequest.objects.bulk_create(
        DeferralRequest(unknown=u, requested_by=lead, reason="Later.", defer_until="M9", status="rejected",
                        decided_by=principal, decided_at=D(3), decision_note="No.")
        for u in unknowns
    )  # fmt: skip
    reminders = Notification.objects.bulk_create(
        Notification(
            recipient=lead,
            kind="escalation",
            text="Escalation",
            dedupe_key=f"escalation:{u.pk}:{lead.pk}:1:1",
        )
        for u in unknowns
    )
    Notification.objects.filter(pk__in=[n.pk for n in reminders]).update(created_at=D(3))
    stories = Story.objects.bulk_create(
        Story(milestone=m, number=n, title="Grown") for m in made for n in (1, 2)
    )
    Subtask.objects.bulk_create(Subtask(story=s, title="Grown") for s in stories)


def test_the_same_number_of_queries_at_5_and_at_200_milestones(project, engineer, client_for):
    browser, api_client = client_for(engineer), api_as(engineer)
    page_at = reverse("planning:squad-insights", args=[project.squad.slug])
    api_at = f"/api/v1/squads/{project.squad.slug}/insights/"

    def count_queries() -> tuple[int, int, int, int]:
        with CaptureQueriesContext(connection) as figures:
            insights = read_insights(Scope.squad(project.squad_id), MARCH, now=NOW)
        with CaptureQueriesContext(connection) as page:
            assert browser.get(page_at, MARCH_QUERY).status_code == 200
        with CaptureQueriesContext(connection) as api:
            assert api_client.get(api_at, MARCH_QUERY).status_code == 200
        return len(insights.current.lead_times), len(figures), len(page), len(api)

    grow(project, 5)
    done_5, *at_5 = count_queries()
    grow(project, 195)
    done_200, *at_200 = count_queries()

    assert (done_5, done_200) == (5, 200)
    assert at_5 == at_200
    # The figures: 7 queries. The page adds the session, the user, the squad, its projects
    # and the navigation bar's counts; the API the squad.
    assert at_5 == [7, 12, 8]


# What the services write is what the figures read -----------------------------------


def test_the_figures_read_what_the_services_write(squad, project, tech_lead, engineer, principal):
    """One milestone driven through the services, each step on its day (the clock travels)."""
    from planning import services
    from planning.services.reminders import write_reminders
    from planning.workflow import ON_NEED_KINDS, ArtifactKind
    from tests.helpers import decide_not_needed, make_ready

    squad.min_review_approvals = 1
    squad.save()
    with time_machine.travel(D(0), tick=False) as clock:
        made = services.create_milestone(tech_lead, project, title="Driven")
        make_ready(made, ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE)
        clock.move_to(D(2))
        made = services.advance_phase(tech_lead, made, to=Phase.PROTOCOLS)
        make_ready(made, ArtifactKind.PROTOCOL_SPECS)
        decide_not_needed(made, *ON_NEED_KINDS)
        clock.move_to(D(3))
        made = services.advance_phase(tech_lead, made, to=Phase.DESIGN_SPEC)
        make_ready(made, ArtifactKind.DESIGN_SPEC)
        clock.move_to(D(5))
        made = services.advance_phase(tech_lead, made, to=Phase.UNKNOWNS)
        first = services.add_unknown(tech_lead, made, title="Q1", priority="high", owner=engineer)
        clock.move_to(D(6))
        services.resolve_unknown(engineer, first, "Answered.")  # 1 day after it was raised
        second = services.add_unknown(tech_lead, made, title="Q2", priority="low", owner=engineer)
        deferral = services.request_deferral(tech_lead, second, reason="Later.", defer_until="M2")
        clock.move_to(D(7))
        services.decide_deferral(principal, deferral, decision="reject", note="Not later.")
        made = services.advance_phase(tech_lead, made, to=Phase.DESIGN_REVIEW)
        review = services.schedule_review(tech_lead, made, scheduled_for=D(8))
        clock.move_to(D(8))
        review = services.open_review(tech_lead, review)
        services.set_verdict(engineer, review, "changes_requested", "Missing retries.")
        services.close_review(tech_lead, review, "changes_requested")
        clock.move_to(D(9))
        services.move_back(tech_lead, made, to=Phase.DESIGN_SPEC, note="Retries.")
        # Q2 untouched since D7: past the squad's 3 days, its owner is nudged.
        clock.move_to(D(10.5))
        write_reminders()

    insights = read_insights(Scope.squad(squad.pk), MARCH, now=D(20))
    current = insights.current

    # Architecture D0 to D2, protocols D2 to D3, design spec D3 to D5 and again from D9 to
    # "now" D20 (2 + 11), unknowns D5 to D7, design review D7 to D9.
    assert days_by_milestone(current) == {
        "Driven": {
            "architecture": 2.0,
            "protocols": 1.0,
            "design_spec": 13.0,
            "unknowns": 2.0,
            "design_review": 2.0,
        }
    }
    assert [(b.from_phase, b.to_phase, b.count) for b in current.move_backs] == [
        ("design_review", "design_spec", 1)
    ]
    assert {p: n for p, n in current.unknowns_raised.items() if n} == {"unknowns": 2}
    assert current.resolution_seconds == [86400.0]
    assert current.deferrals == {"approved": 0, "rejected": 1}
    assert [(r.rounds, r.approved, r.changes_requested) for r in current.reviews] == [(1, 0, 1)]
    assert current.reminders["owner_nudge"] == 1
    assert current.reminders_total == 1
