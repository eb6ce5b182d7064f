"""The milestone page leads with the current phase: its readiness, its action and its main work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from planning import services, workflow
from planning.models import Concern, DesignReview, Milestone
from planning.workflow import MilestoneFacts, Phase, StoryFacts, UnknownFacts
from tests.factories import (
    ConcernFactory,
    DesignReviewFactory,
    KickoffMeetingFactory,
    StoryFactory,
    UnknownFactory,
)
from tests.helpers import put_in_phase
from tests.test_milestones import MILESTONE_PAGE_BUDGET

# As the milestone page's budget in test_milestones, and in the kick-off phase
# two more: the kick-off meeting and its concerns.
KICKOFF_PAGE_BUDGET = MILESTONE_PAGE_BUDGET + 2


@pytest.fixture
def milestone(project, tech_lead) -> Milestone:
    return services.create_milestone(tech_lead, project, title="Tokenise cards", goal="Tokens.")


def page_of(client, milestone: Milestone) -> str:
    response = client.get(milestone.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def before_the_rest(page: str, marker: str) -> bool:
    """Whether `marker` comes in the page's first part, above "Everything else"."""
    return page.index(marker) < page.index('class="rest-heading"')


# The readiness -----------------------------------------------------------------------


def test_the_unknowns_phase_with_no_unknown_shows_no_tick(client_for, milestone, tech_lead):
    milestone = put_in_phase(milestone, Phase.UNKNOWNS)

    page = page_of(client_for(tech_lead), milestone)

    assert "✓ Everything Design review needs is in place." not in page
    assert "No unknown is listed yet." in page


def test_the_unknowns_phase_with_its_unknowns_handled_shows_the_tick(
    client_for, milestone, tech_lead, engineer
):
    milestone = put_in_phase(milestone, Phase.UNKNOWNS)
    UnknownFactory(milestone=milestone, owner=engineer)

    page = page_of(client_for(tech_lead), milestone)

    assert "✓ Everything Design review needs is in place." in page


def test_the_readiness_says_early_what_done_will_ask(client_for, milestone, tech_lead, engineer):
    UnknownFactory(milestone=milestone, owner=engineer)
    UnknownFactory(milestone=milestone, owner=engineer, status="resolved")

    page = page_of(client_for(tech_lead), milestone)

    assert "Later moves will ask" in page
    assert (
        "Before Done:</span> 1 unknown to resolve or defer (U-1); "
        "write at least one story of the work." in page
    )


def test_a_disabled_move_says_why_in_visible_text(client_for, milestone, tech_lead):
    page = page_of(client_for(tech_lead), milestone)

    assert 'disabled aria-describedby="move-why"' in page
    assert '<span class="muted small" id="move-why">Finish the items above first.</span>' in page


def test_later_asks_name_each_thing_once_at_the_first_move_that_asks_for_it():
    facts = MilestoneFacts(
        phase=Phase.DESIGN_SPEC,
        tech_lead_id=1,
        unknowns=(
            UnknownFacts("U-1", "Which HSM?", "blocker", "open", owner_id=None),
            UnknownFacts("U-2", "Retries", "normal", "resolved", owner_id=1),
        ),
    )

    asks = workflow.later_asks(facts)

    assert [(phase, [item.code for item in items]) for phase, items in asks] == [
        (Phase.DESIGN_REVIEW, ["unknown_without_owner:U-1", "blocker_open:U-1"]),
        (Phase.DONE, ["no_stories", "unknown_unsettled:U-1"]),
    ]


def test_later_asks_are_empty_when_nothing_later_is_missing():
    facts = MilestoneFacts(
        phase=Phase.KICKOFF,
        tech_lead_id=1,
        stories=(StoryFacts("S-1", "Vault", claimed=True, subtasks=1),),
    )

    assert workflow.later_asks(facts) == []


# What comes first ---------------------------------------------------------------------


def test_the_artifacts_lead_in_the_first_phases(client_for, milestone, tech_lead):
    page = page_of(client_for(tech_lead), milestone)

    assert before_the_rest(page, 'id="artifacts"')
    assert not before_the_rest(page, 'id="unknowns"')


def test_the_unknowns_and_their_add_form_lead_in_the_unknowns_phase(
    client_for, milestone, tech_lead
):
    milestone = put_in_phase(milestone, Phase.UNKNOWNS)

    page = page_of(client_for(tech_lead), milestone)

    assert before_the_rest(page, 'id="unknowns"')
    assert before_the_rest(page, "Add an unknown")
    assert not before_the_rest(page, 'id="artifacts"')
    assert '<details class="card fold" id="artifacts-fold">' in page


def test_the_review_leads_in_the_design_review_phase(client_for, milestone, tech_lead):
    milestone = put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)

    page = page_of(client_for(tech_lead), milestone)

    assert before_the_rest(page, 'id="review"')
    assert before_the_rest(page, "Go to design review 1")
    assert review.get_absolute_url() in page


def test_the_concerns_lead_in_the_kickoff_phase(
    client_for, django_assert_max_num_queries, milestone, tech_lead, product
):
    milestone = put_in_phase(milestone, Phase.KICKOFF)
    KickoffMeetingFactory(milestone=milestone, scheduled_for=timezone.now() + timedelta(days=1))
    open_one = ConcernFactory(milestone=milestone, raised_by=product, text="Email or push?")
    ConcernFactory(milestone=milestone, status=Concern.Status.ANSWERED, text="Which region?")
    client = client_for(tech_lead)

    with django_assert_max_num_queries(KICKOFF_PAGE_BUDGET):
        page = page_of(client, milestone)

    assert before_the_rest(page, 'id="kickoff"')
    assert before_the_rest(page, f"#concern-{open_one.pk}")
    assert before_the_rest(page, "waiting for an answer")
    assert "Which region?" in page


def test_the_stories_lead_at_task_breakout(client_for, milestone, tech_lead, engineer):
    milestone = put_in_phase(milestone, Phase.TASK_BREAKOUT)
    StoryFactory(milestone=milestone, assignee=engineer, title="Nightly job")

    page = page_of(client_for(tech_lead), milestone)

    assert before_the_rest(page, 'id="stories"')
    assert before_the_rest(page, "Nightly job")


# The stepper and the review ------------------------------------------------------------


def test_the_done_step_shows_a_tick(client_for, milestone, tech_lead):
    milestone = put_in_phase(milestone, Phase.DONE)

    page = page_of(client_for(tech_lead), milestone)

    assert page.count('<span class="step-dot">✓</span>') == 8
    assert "Planning is done" in page


def test_another_round_is_offered_after_changes_were_asked_for(client_for, milestone, tech_lead):
    milestone = put_in_phase(milestone, Phase.DESIGN_REVIEW)
    DesignReviewFactory(
        milestone=milestone,
        status=DesignReview.Status.CLOSED,
        outcome=DesignReview.Outcome.CHANGES_REQUESTED,
    )

    page = page_of(client_for(tech_lead), milestone)

    assert "Schedule another round" in page


def test_no_other_round_is_offered_after_the_review_approved(client_for, milestone, tech_lead):
    milestone = put_in_phase(milestone, Phase.DESIGN_REVIEW)
    DesignReviewFactory(milestone=milestone, status=DesignReview.Status.CLOSED)

    page = page_of(client_for(tech_lead), milestone)

    assert "Schedule another round" not in page
    assert "Closed: approved" in page
