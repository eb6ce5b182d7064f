"""Claiming stories: a claim never takes a teammate's story, and a done milestone takes none."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from planning import services
from planning.models import Story
from planning.workflow import Phase
from tests.factories import MilestoneFactory, StoryFactory
from tests.helpers import unchanged

pytestmark = pytest.mark.django_db


@pytest.fixture
def milestone(project):
    return MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)


@pytest.fixture
def done(project):
    return MilestoneFactory.create(project=project, phase=Phase.DONE)


def test_a_story_a_teammate_claimed_is_not_taken_over(milestone, engineer, product):
    story = StoryFactory.create(
        milestone=milestone, assignee=engineer, status=Story.Status.IN_PROGRESS
    )

    with unchanged(story), pytest.raises(ValidationError) as refusal:
        services.claim_story(product, story)

    assert refusal.value.messages == [
        f"{engineer.display_name} has already claimed S-1; ask them to hand it over."
    ]
    assert not milestone.activities.filter(verb="story_claimed").exists()


def test_claiming_a_story_already_yours_keeps_it_yours(milestone, engineer):
    story = StoryFactory.create(
        milestone=milestone, assignee=engineer, status=Story.Status.IN_PROGRESS
    )

    claimed = services.claim_story(engineer, story)

    assert (claimed.assignee, claimed.status) == (engineer, Story.Status.IN_PROGRESS)


def test_a_claim_keeps_a_story_that_is_already_done_done(milestone, engineer):
    story = StoryFactory.create(milestone=milestone, status=Story.Status.DONE)

    claimed = services.claim_story(engineer, story)

    assert (claimed.assignee, claimed.status) == (engineer, Story.Status.DONE)


def test_no_story_is_claimed_once_the_milestone_is_done(done, engineer):
    story = StoryFactory.create(milestone=done)

    with unchanged(story), pytest.raises(ValidationError) as refusal:
        services.claim_story(engineer, story)

    assert refusal.value.messages == [
        f"M{done.number} is done: its stories are no longer claimed or handed out."
    ]


def test_no_story_is_handed_to_someone_once_the_milestone_is_done(done, tech_lead, engineer):
    story = StoryFactory.create(milestone=done)

    with unchanged(story), pytest.raises(ValidationError):
        services.update_story(tech_lead, story, assignee=engineer)


def test_the_stories_of_a_done_milestone_still_change_otherwise(done, tech_lead, engineer):
    story = StoryFactory.create(milestone=done, assignee=engineer)

    services.update_story(tech_lead, story, title="Token vault", status=Story.Status.DONE)
    services.update_story(tech_lead, story, assignee=None)

    saved = Story.objects.get(pk=story.pk)
    assert (saved.title, saved.status, saved.assignee) == ("Token vault", Story.Status.DONE, None)


def test_the_claim_button_on_a_teammates_story_says_who_has_it(
    client_for, milestone, engineer, product
):
    StoryFactory.create(milestone=milestone, assignee=engineer)
    breakout = reverse("planning:breakout", kwargs=milestone.url_kwargs())
    claim = reverse("planning:story-claim", kwargs={**milestone.url_kwargs(), "story_number": 1})

    response = client_for(product).post(claim, follow=True)

    assert response.redirect_chain == [(breakout + "#story-1", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"{engineer.display_name} has already claimed S-1; ask them to hand it over."
    ]
    assert Story.objects.get().assignee == engineer


def test_a_teammates_story_is_taken_over_only_by_naming_them(milestone, engineer, product):
    story = StoryFactory.create(milestone=milestone, assignee=engineer)

    taken = services.claim_story(product, story, take_over_from=engineer.pk)

    assert taken.assignee == product
    activity = milestone.activities.get(verb="story_claimed")
    assert activity.summary == (
        f"{product.display_name} took over S-1 “{story.title}” from {engineer.display_name}."
    )


def test_a_take_over_naming_someone_else_takes_nothing(milestone, engineer, product, tech_lead):
    # Claimed by the engineer after the product representative saw it with the tech lead.
    story = StoryFactory.create(milestone=milestone, assignee=engineer)

    with pytest.raises(ValidationError):
        services.claim_story(product, story, take_over_from=tech_lead.pk)

    assert Story.objects.get().assignee == engineer


def test_nothing_is_taken_over_in_a_done_milestone(done, engineer, product):
    story = StoryFactory.create(milestone=done, assignee=engineer)

    with pytest.raises(ValidationError):
        services.claim_story(product, story, take_over_from=engineer.pk)

    assert Story.objects.get().assignee == engineer


def test_the_breakout_page_offers_to_take_over_from_the_teammate_who_has_it(
    client_for, milestone, engineer, product
):
    StoryFactory.create(milestone=milestone, assignee=engineer)
    StoryFactory.create(milestone=milestone)
    breakout = reverse("planning:breakout", kwargs=milestone.url_kwargs())
    client = client_for(product)

    page = client.get(breakout).content.decode()

    assert f"Take over from {engineer.display_name}</button>" in page
    assert f'data-confirm="Take S-1 over from {engineer.display_name}? It becomes yours."' in page
    assert f'name="take_over_from" value="{engineer.pk}"' in page
    assert page.count(">Claim</button>") == 1

    claim = reverse("planning:story-claim", kwargs={**milestone.url_kwargs(), "story_number": 1})
    response = client.post(claim, {"take_over_from": str(engineer.pk)}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["S-1 is yours."]
    assert Story.objects.get(number=1).assignee == product


def test_a_done_milestones_breakout_page_offers_no_claim(client_for, done, engineer, product):
    StoryFactory.create(milestone=done, assignee=engineer)
    StoryFactory.create(milestone=done)

    page = client_for(product).get(reverse("planning:breakout", kwargs=done.url_kwargs()))

    assert "Take over from" not in page.content.decode()
    assert ">Claim</button>" not in page.content.decode()


# The API: the same rule ---------------------------------------------------------------


def api_as(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_refuses_to_claim_a_teammates_story(milestone, engineer, product):
    story = StoryFactory.create(milestone=milestone, assignee=engineer)

    response = api_as(product).post(f"/api/v1/stories/{story.pk}/claim/")

    assert response.status_code == 400
    assert "ask them to hand it over" in str(response.json())
    assert Story.objects.get().assignee == engineer


def test_the_api_takes_a_story_over_from_the_teammate_it_names(milestone, engineer, product):
    story = StoryFactory.create(milestone=milestone, assignee=engineer)

    response = api_as(product).post(
        f"/api/v1/stories/{story.pk}/claim/", {"take_over_from": engineer.pk}, format="json"
    )

    assert response.status_code == 200
    assert Story.objects.get().assignee == product
    assert milestone.activities.filter(summary__contains="took over S-1").exists()


def test_handing_a_story_over_leaves_a_row_on_the_timeline(milestone, engineer, product):
    story = StoryFactory.create(milestone=milestone, assignee=engineer)

    services.update_story(engineer, story, assignee=product)

    activity = milestone.activities.get(verb="story_assigned")
    assert activity.summary == (
        f"{engineer.display_name} gave S-1 “{story.title}” to {product.display_name}."
    )
