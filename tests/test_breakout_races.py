"""Kick-off and task breakout raced on PostgreSQL with real threads.

Concerns against the move to task breakout; claims against the move to done,
against each other and against an edit of the same story. Each test races one
pair for many rounds and checks after every round what must hold.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from planning import services
from planning.models import Milestone, Story
from planning.workflow import Phase
from tests.factories import KickoffMeetingFactory, MilestoneFactory, StoryFactory, SubtaskFactory
from tests.racing import as_loaded, broken_rounds, kinds, racers, timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def race():
    with racers() as started:
        yield started.run


def loaded(story: Story) -> Story:
    """The story as the breakout page loads it, before the race starts."""
    return Story.objects.select_related(
        "milestone__project__squad", "milestone__tech_lead", "assignee"
    ).get(pk=story.pk)


def loaded_milestone(milestone: Milestone) -> Milestone:
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


def test_a_concern_raised_as_the_milestone_moves_to_task_breakout_follows_the_move(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.KICKOFF)
        KickoffMeetingFactory.create(milestone=milestone, held_at=timezone.now())
        moving, raising = loaded_milestone(milestone), loaded_milestone(milestone)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.TASK_BREAKOUT),
            lambda: services.raise_concern(
                as_loaded(engineer), raising, kind="concern", text="Latency under load?"
            ),
        )

        broken = []
        if kinds(outcomes) not in {("Milestone", "Concern"), ("GuardRefused", "Concern")}:
            broken.append(f"outcomes {outcomes}")
        if timeline(milestone) not in (["phase_advanced", "concern_raised"], ["concern_raised"]):
            broken.append(f"a concern raised before a move that passed: {timeline(milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_a_story_claimed_as_the_milestone_moves_to_done_never_leaves_it_claimed_without_subtasks(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
        SubtaskFactory.create(story=StoryFactory.create(milestone=milestone))
        story = StoryFactory.create(milestone=milestone)
        moving, claiming = loaded_milestone(milestone), loaded(story)

        outcomes = race(
            lambda: services.advance_phase(as_loaded(tech_lead), moving, to=Phase.DONE),
            lambda: services.claim_story(as_loaded(engineer), claiming),
        )

        milestone.refresh_from_db()
        claimed_bare = milestone.stories.filter(assignee__isnull=False, subtasks__isnull=True)
        broken = []
        if kinds(outcomes) not in {("Milestone", "ValidationError"), ("GuardRefused", "Story")}:
            broken.append(f"outcomes {outcomes}")
        if milestone.phase == Phase.DONE and claimed_bare.exists():
            broken.append("done with a claimed story that has no sub-task")
        return broken

    assert broken_rounds(one_round) == []


def test_two_claims_of_one_story_give_it_to_one_and_refuse_the_other(
    race, project, tech_lead, engineer, product
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
        story = StoryFactory.create(milestone=milestone)
        mine, theirs = loaded(story), loaded(story)

        outcomes = race(
            lambda: services.claim_story(as_loaded(engineer), mine),
            lambda: services.claim_story(as_loaded(product), theirs),
        )

        story.refresh_from_db()
        winners = [
            person.pk
            for person, outcome in zip((engineer, product), outcomes, strict=True)
            if isinstance(outcome, Story)
        ]
        broken = []
        if sorted(kinds(outcomes)) != ["Story", "ValidationError"]:
            broken.append(f"outcomes {outcomes}")
        if [story.assignee_id] != winners:
            broken.append(f"claimed by {story.assignee_id}, granted to {winners}")
        if milestone.activities.filter(verb="story_claimed").count() != 1:
            broken.append("the timeline does not show one claim")
        return broken

    assert broken_rounds(one_round) == []


def test_editing_a_story_as_it_is_claimed_keeps_the_claim_and_the_edit(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
        story = StoryFactory.create(milestone=milestone, title="Token service")
        editing, claiming = loaded(story), loaded(story)

        outcomes = race(
            lambda: services.update_story(as_loaded(tech_lead), editing, title="Token vault"),
            lambda: services.claim_story(as_loaded(engineer), claiming),
        )

        story.refresh_from_db()
        broken = []
        if kinds(outcomes) != ("Story", "Story"):
            broken.append(f"outcomes {outcomes}")
        if (story.assignee_id, story.status) != (engineer.pk, Story.Status.IN_PROGRESS):
            broken.append(f"the claim was lost: {story.assignee_id} {story.status}")
        if story.title != "Token vault":
            broken.append("the new title was lost")
        return broken

    assert broken_rounds(one_round) == []
