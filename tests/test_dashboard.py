"""My work: what waits for each person, most urgent first, and only the cards that hold something."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from planning.models import Concern, DesignReview, Story
from planning.workflow import Phase
from tests.factories import (
    BreakoutSessionFactory,
    ConcernFactory,
    DeferralRequestFactory,
    DesignReviewFactory,
    KickoffMeetingFactory,
    MilestoneFactory,
    NotificationFactory,
    StoryFactory,
    UnknownFactory,
    VerdictFactory,
)

pytestmark = pytest.mark.django_db

# Session, user, navigation counts; then one query each for reviews I am in,
# kick-offs, breakout sessions, concerns, deferrals, unknowns, stories,
# milestones I lead, unread notifications, my projects (twice: led and
# overseen) and my squads; and the open reviews that expect my verdict with, when
# there are any, who is still owed one (squad engineers, verdicts, revisions).
DASHBOARD_BUDGET = 19


def my_work(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response, response.content.decode()


def card_keys(response) -> list[str]:
    return [card.key for card in response.context["cards"]]


def test_an_engineer_sees_the_open_review_waiting_for_their_verdict(client_for, project, engineer):
    milestone = MilestoneFactory(project=project, phase=Phase.DESIGN_REVIEW, title="Refunds")
    review = DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)

    response, page = my_work(client_for(engineer))

    assert response.context["verdicts"] == [review]
    assert card_keys(response)[0] == "verdicts"
    assert "Design review 1</strong> of M1 Refunds" in page
    assert review.get_absolute_url() in page


def test_a_given_verdict_moves_the_review_to_the_meetings_card(client_for, project, engineer):
    review = DesignReviewFactory(
        milestone=MilestoneFactory(project=project), status=DesignReview.Status.OPEN
    )
    VerdictFactory(review=review, reviewer=engineer)

    response, _ = my_work(client_for(engineer))

    assert response.context["verdicts"] == []
    assert [meeting.url for meeting in response.context["meetings"]] == [review.get_absolute_url()]


def test_an_invited_guest_sees_the_review_they_are_invited_to(client_for, project, guest):
    review = DesignReviewFactory(
        milestone=MilestoneFactory(project=project), status=DesignReview.Status.OPEN
    )
    review.invitees.add(guest)
    DesignReviewFactory(
        milestone=MilestoneFactory(project=project), status=DesignReview.Status.OPEN
    )

    response, _ = my_work(client_for(guest))

    assert response.context["verdicts"] == [review]


def test_a_scheduled_review_a_kickoff_and_a_breakout_session_are_listed_soonest_first(
    client_for, project, engineer
):
    now = timezone.now()
    review = DesignReviewFactory(
        milestone=MilestoneFactory(project=project), scheduled_for=now + timedelta(days=3)
    )
    kickoff = KickoffMeetingFactory(
        milestone=MilestoneFactory(project=project, phase=Phase.KICKOFF),
        scheduled_for=now + timedelta(days=1),
    )
    session = BreakoutSessionFactory(
        milestone=MilestoneFactory(project=project, phase=Phase.TASK_BREAKOUT),
        scheduled_for=now + timedelta(days=2),
    )
    # Held already, or of a milestone past its kick-off: nothing to attend.
    KickoffMeetingFactory(
        milestone=MilestoneFactory(project=project, phase=Phase.KICKOFF), held_at=now
    )
    KickoffMeetingFactory(milestone=MilestoneFactory(project=project, phase=Phase.DONE))

    response, page = my_work(client_for(engineer))

    meetings = response.context["meetings"]
    assert [(m.kind, m.milestone) for m in meetings] == [
        ("Kick-off", kickoff.milestone),
        ("Breakout session", session.milestone),
        ("Design review", review.milestone),
    ]
    assert "Reviews and meetings coming up" in page
    assert timezone.localtime(kickoff.scheduled_for).strftime("%H:%M") in page


def test_the_tech_lead_sees_the_concerns_waiting_for_an_answer(
    client_for, project, tech_lead, product
):
    milestone = MilestoneFactory(project=project, phase=Phase.KICKOFF)
    concern = ConcernFactory(milestone=milestone, raised_by=product, text="Email or push?")
    ConcernFactory(milestone=milestone, status=Concern.Status.ANSWERED)

    response, page = my_work(client_for(tech_lead))

    assert response.context["concerns"] == [concern]
    assert f"kickoff/#concern-{concern.pk}" in page


def test_the_principal_engineer_sees_the_deferrals_to_decide(client_for, project, principal):
    deferral = DeferralRequestFactory(
        unknown=UnknownFactory(milestone=MilestoneFactory(project=project), title="Card art")
    )

    response, page = my_work(client_for(principal))

    assert response.context["deferrals"] == [deferral]
    assert "Deferrals to decide" in page
    assert "Card art" in page


def test_an_engineer_sees_the_unfinished_stories_they_claimed(client_for, project, engineer):
    milestone = MilestoneFactory(project=project, phase=Phase.TASK_BREAKOUT)
    mine = StoryFactory(milestone=milestone, assignee=engineer, title="Nightly job")
    StoryFactory(milestone=milestone, assignee=engineer, status=Story.Status.DONE)
    StoryFactory(milestone=milestone)

    response, page = my_work(client_for(engineer))

    assert response.context["stories"] == [mine]
    assert "Nightly job" in page


def test_stories_show_the_newest_milestones_first_and_say_there_are_more(
    client_for, project, engineer
):
    older = MilestoneFactory(project=project, phase=Phase.DONE)
    for _ in range(8):
        StoryFactory(milestone=older, assignee=engineer)
    newest = MilestoneFactory(project=project, phase=Phase.TASK_BREAKOUT)
    mine = StoryFactory(milestone=newest, assignee=engineer, title="Nightly job")

    response, page = my_work(client_for(engineer))

    assert response.context["stories"][0] == mine
    assert len(response.context["stories"]) == 8
    assert '<span class="count">8+</span>' in page
    assert "the rest are on their task breakout pages" in page


def test_cards_with_nothing_in_them_collapse_into_one_line(client_for, project, engineer):
    UnknownFactory(milestone=MilestoneFactory(project=project), owner=engineer)

    response, page = my_work(client_for(engineer))

    assert card_keys(response) == ["unknowns"]
    assert 'id="my-unknowns"' in page
    assert "Milestones I lead</h2>" not in page
    assert "Nothing waiting in: Verdicts to give · Concerns to answer" in page


def test_unknowns_i_own_come_overdue_first(client_for, project, engineer):
    milestone = MilestoneFactory(project=project)
    today = timezone.localdate()
    later = UnknownFactory(milestone=milestone, owner=engineer, due_on=today + timedelta(days=9))
    overdue = UnknownFactory(milestone=milestone, owner=engineer, due_on=today - timedelta(days=1))
    undated = UnknownFactory(milestone=milestone, owner=engineer)

    response, page = my_work(client_for(engineer))

    assert response.context["unknowns"] == [overdue, later, undated]
    assert "overdue since" in page


def fill_my_work(project, tech_lead, engineer, copies: int) -> None:
    """`copies` of everything that can wait for the tech lead or the engineer."""
    for _ in range(copies):
        milestone = MilestoneFactory(project=project, phase=Phase.KICKOFF)
        DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)
        DesignReviewFactory(milestone=milestone)
        KickoffMeetingFactory(milestone=milestone)
        ConcernFactory(milestone=milestone)
        DeferralRequestFactory(unknown=UnknownFactory(milestone=milestone))
        UnknownFactory(milestone=milestone, owner=tech_lead)
        StoryFactory(milestone=milestone, assignee=tech_lead)
        NotificationFactory(recipient=tech_lead)
        breakout = MilestoneFactory(project=project, phase=Phase.TASK_BREAKOUT)
        BreakoutSessionFactory(milestone=breakout)


@pytest.mark.parametrize("copies", [1, 12])
def test_my_work_query_count_does_not_grow_with_what_waits(
    client_for, django_assert_max_num_queries, project, tech_lead, engineer, copies
):
    fill_my_work(project, tech_lead, engineer, copies)
    client = client_for(tech_lead)

    with django_assert_max_num_queries(DASHBOARD_BUDGET):
        response = client.get(reverse("dashboard"))

    assert len(response.context["verdicts"]) == copies
    assert len(response.context["concerns"]) == copies
    assert len(response.context["meetings"]) == min(3 * copies, 20)
    assert len(response.context["stories"]) == min(copies, 8)
