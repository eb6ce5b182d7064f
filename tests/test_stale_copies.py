"""A change decides on the rows as they are stored, not on the copy its caller loaded.

A page loads a milestone, a review or an unknown, and someone else changes it
before the form comes back. Each service locks and reads the rows again, so
the older copy neither undoes the other change nor gets past a rule it no
longer meets. (tests/test_*races.py race the same pairs with real threads.)
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from planning import services
from planning.exceptions import DeferralConflict
from planning.models import DesignReview, Milestone, Story, Subtask, Unknown
from planning.workflow import ArtifactKind, ArtifactStatus, Phase
from tests.factories import (
    DeferralRequestFactory,
    DesignReviewFactory,
    MilestoneFactory,
    StoryFactory,
    SubtaskFactory,
    UnknownFactory,
    VerdictFactory,
)
from tests.helpers import unchanged

pytestmark = pytest.mark.django_db


def copy_of(instance):
    return type(instance).objects.get(pk=instance.pk)


def test_a_milestone_edited_from_a_copy_older_than_a_move_keeps_the_move(project, tech_lead):
    milestone = MilestoneFactory.create(project=project)
    milestone.artifacts.filter(
        kind__in=[ArtifactKind.SYSTEM_ARCHITECTURE, ArtifactKind.APPLICATION_ARCHITECTURE]
    ).update(body="Written.", revision=1, status=ArtifactStatus.READY)
    older = copy_of(milestone)
    services.advance_phase(tech_lead, copy_of(milestone), to=Phase.PROTOCOLS)

    services.update_milestone(tech_lead, older, title="Renamed")

    saved = Milestone.objects.get(pk=milestone.pk)
    assert (saved.phase, saved.title) == (Phase.PROTOCOLS, "Renamed")


def test_a_review_rescheduled_from_a_copy_older_than_its_close_is_refused(
    project, tech_lead, engineer
):
    review = DesignReviewFactory.create(
        milestone=MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW),
        status=DesignReview.Status.OPEN,
    )
    VerdictFactory.create(review=review, reviewer=tech_lead)
    VerdictFactory.create(review=review, reviewer=engineer)
    older = copy_of(review)
    services.close_review(tech_lead, copy_of(review), DesignReview.Outcome.APPROVED)

    with pytest.raises(ValidationError, match="A closed review cannot change"):
        services.update_review(tech_lead, older, location="Room 9")

    saved = DesignReview.objects.get(pk=review.pk)
    assert (saved.status, saved.outcome) == (DesignReview.Status.CLOSED, "approved")


def test_a_review_opened_from_a_copy_older_than_a_move_back_is_refused(project, tech_lead):
    review = DesignReviewFactory.create(
        milestone=MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW)
    )
    older = DesignReview.objects.select_related("milestone").get(pk=review.pk)
    services.move_back(
        tech_lead, copy_of(review.milestone), to=Phase.DESIGN_SPEC, note="The spec needs work."
    )

    with unchanged(review), pytest.raises(ValidationError, match="Design review phase"):
        services.open_review(tech_lead, older)


def test_a_deferral_asked_for_on_a_copy_older_than_the_resolution_is_refused(
    project, tech_lead, engineer
):
    unknown = UnknownFactory.create(
        milestone=MilestoneFactory.create(project=project), owner=engineer
    )
    older = copy_of(unknown)
    services.resolve_unknown(engineer, copy_of(unknown), "Measured it.")

    with pytest.raises(ValidationError, match="already resolved"):
        services.request_deferral(tech_lead, older, reason="After launch.", defer_until="M2")

    assert not unknown.deferrals.exists()


def test_a_deferral_decided_after_its_unknown_was_resolved_leaves_it_resolved(
    project, engineer, principal
):
    unknown = UnknownFactory.create(
        milestone=MilestoneFactory.create(project=project), owner=engineer
    )
    deferral = DeferralRequestFactory.create(unknown=unknown)
    services.resolve_unknown(engineer, copy_of(unknown), "Measured it.")

    with pytest.raises(DeferralConflict):
        services.decide_deferral(principal, deferral, decision="approve")

    assert Unknown.objects.get(pk=unknown.pk).status == Unknown.Status.RESOLVED


def test_an_unknown_is_not_deferred_by_an_edit_from_a_copy_that_showed_it_deferred(
    project, engineer
):
    unknown = UnknownFactory.create(
        milestone=MilestoneFactory.create(project=project),
        owner=engineer,
        status=Unknown.Status.DEFERRED,
    )
    older = copy_of(unknown)
    services.update_unknown(engineer, copy_of(unknown), status=Unknown.Status.INVESTIGATING)

    with pytest.raises(ValidationError, match="request a deferral"):
        services.update_unknown(engineer, older, status=Unknown.Status.DEFERRED, title="Renamed")

    assert Unknown.objects.get(pk=unknown.pk).status == Unknown.Status.INVESTIGATING


def test_a_story_edited_from_a_copy_older_than_a_claim_keeps_the_claim(
    project, tech_lead, engineer
):
    story = StoryFactory.create(
        milestone=MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
    )
    older = Story.objects.select_related("milestone").get(pk=story.pk)
    services.claim_story(engineer, copy_of(story))

    services.update_story(tech_lead, older, title="Token vault")

    saved = Story.objects.get(pk=story.pk)
    assert (saved.title, saved.assignee, saved.status) == (
        "Token vault",
        engineer,
        Story.Status.IN_PROGRESS,
    )


def test_a_sub_task_ticked_from_an_older_copy_keeps_its_new_title(project, engineer):
    story = StoryFactory.create(
        milestone=MilestoneFactory.create(project=project, phase=Phase.TASK_BREAKOUT)
    )
    subtask = SubtaskFactory.create(story=story, title="Write the schema")
    older = Subtask.objects.select_related("story").get(pk=subtask.pk)
    services.update_subtask(engineer, copy_of(subtask), title="Write the schema and its index")

    services.update_subtask(engineer, older, done=True)

    saved = Subtask.objects.get(pk=subtask.pk)
    assert (saved.title, saved.done) == ("Write the schema and its index", True)
