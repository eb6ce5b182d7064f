"""The factories build rows the way the services leave them, within every constraint."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from planning.models import Artifact, DeferralRequest, DesignReview, Unknown
from planning.services.phases import milestone_facts
from planning.workflow import ARTIFACT_KINDS, ArtifactKind, ArtifactStatus, ReviewFacts
from tests.factories import (
    ActivityFactory,
    ArtifactFactory,
    ArtifactRevisionFactory,
    BreakoutSessionFactory,
    CommentFactory,
    ConcernFactory,
    DeferralRequestFactory,
    DesignReviewFactory,
    KickoffMeetingFactory,
    MembershipFactory,
    MilestoneFactory,
    NotificationFactory,
    ProjectFactory,
    SquadFactory,
    StoryFactory,
    SubtaskFactory,
    UnknownCommentFactory,
    UnknownFactory,
    UserFactory,
    VerdictFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db

EVERY_FACTORY = [
    UserFactory,
    SquadFactory,
    MembershipFactory,
    ProjectFactory,
    MilestoneFactory,
    ArtifactFactory,
    ArtifactRevisionFactory,
    ActivityFactory,
    UnknownFactory,
    UnknownCommentFactory,
    DeferralRequestFactory,
    DesignReviewFactory,
    CommentFactory,
    VerdictFactory,
    KickoffMeetingFactory,
    ConcernFactory,
    StoryFactory,
    SubtaskFactory,
    BreakoutSessionFactory,
    NotificationFactory,
    WebhookDeliveryFactory,
]


@pytest.mark.parametrize("factory", EVERY_FACTORY, ids=lambda f: f.__name__)
def test_each_factory_builds_a_row_that_passes_model_validation(factory):
    row = factory()

    row.refresh_from_db()
    row.full_clean()
    assert type(row).objects.filter(pk=row.pk).exists()


def test_a_milestone_comes_with_its_seven_artifacts_missing_and_undecided():
    milestone = MilestoneFactory()

    artifacts = list(milestone.artifacts.order_by("id"))

    assert [a.kind for a in artifacts] == ARTIFACT_KINDS
    assert {(a.status, a.needed, a.revision, a.body) for a in artifacts} == {
        (ArtifactStatus.MISSING, None, 0, "")
    }


def test_a_milestone_is_led_by_its_project_tech_lead_unless_told():
    milestone = MilestoneFactory()

    assert milestone.tech_lead == milestone.project.tech_lead


def test_milestones_are_numbered_consecutively_in_each_project():
    project, other = ProjectFactory(), ProjectFactory()

    numbers = [MilestoneFactory(project=project).number for _ in range(3)]

    assert numbers == [1, 2, 3]
    assert MilestoneFactory(project=other).number == 1


def test_a_milestone_without_artifacts_leaves_room_for_one_artifact_of_each_kind():
    milestone = MilestoneFactory(artifacts=False)

    ArtifactFactory(milestone=milestone, kind=ArtifactKind.FLOW_CHART)

    assert list(milestone.artifacts.values_list("kind", flat=True)) == [ArtifactKind.FLOW_CHART]
    with pytest.raises(IntegrityError), transaction.atomic():
        ArtifactFactory(milestone=milestone, kind=ArtifactKind.FLOW_CHART)


def test_revisions_are_numbered_consecutively_and_the_artifact_shows_the_latest():
    artifact = Artifact.objects.get(milestone=MilestoneFactory(), kind=ArtifactKind.DESIGN_SPEC)

    revisions = [ArtifactRevisionFactory(artifact=artifact, body=f"v{n}\n") for n in (1, 2, 3)]

    artifact.refresh_from_db()
    assert [r.number for r in revisions] == [1, 2, 3]
    assert (artifact.revision, artifact.body) == (3, "v3\n")
    assert artifact.updated_by == artifact.milestone.tech_lead


def test_unknowns_are_numbered_consecutively_in_each_milestone():
    milestone, other = MilestoneFactory(), MilestoneFactory()

    keys = [UnknownFactory(milestone=milestone).key for _ in range(3)]

    assert keys == ["U-1", "U-2", "U-3"]
    assert UnknownFactory(milestone=other).key == "U-1"


def test_a_resolved_unknown_carries_a_resolution():
    unknown = UnknownFactory(status=Unknown.Status.RESOLVED)

    assert unknown.resolution
    assert unknown.is_settled


def test_an_approved_deferral_defers_its_unknown_as_the_decision_would():
    deferral = DeferralRequestFactory(status=DeferralRequest.Status.APPROVED)

    assert Unknown.objects.get(pk=deferral.unknown_id).status == Unknown.Status.DEFERRED
    assert deferral.decided_by is not None
    assert deferral.decided_at is not None


def test_a_rejected_deferral_carries_its_note_and_leaves_the_unknown_open():
    deferral = DeferralRequestFactory(status=DeferralRequest.Status.REJECTED)

    assert deferral.decision_note
    assert Unknown.objects.get(pk=deferral.unknown_id).status == Unknown.Status.OPEN


def test_a_pending_deferral_is_undecided_and_only_one_may_wait_per_unknown():
    deferral = DeferralRequestFactory()

    assert (deferral.decided_by, deferral.decided_at) == (None, None)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeferralRequestFactory(unknown=deferral.unknown)
    assert deferral.unknown.deferrals.count() == 1


def test_review_rounds_are_numbered_consecutively_in_each_milestone():
    milestone = MilestoneFactory()

    first = DesignReviewFactory(milestone=milestone, status=DesignReview.Status.CLOSED)
    second = DesignReviewFactory(milestone=milestone)

    assert (first.round, second.round) == (1, 2)
    assert DesignReviewFactory().round == 1


def test_an_opened_review_snapshots_the_revisions_of_every_artifact():
    milestone = MilestoneFactory()
    ArtifactRevisionFactory(artifact=milestone.artifacts.get(kind=ArtifactKind.DESIGN_SPEC))

    review = DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)

    assert review.opened_at is not None
    assert review.reviewed_revisions == {
        kind: 1 if kind == ArtifactKind.DESIGN_SPEC else 0 for kind in ARTIFACT_KINDS
    }


def test_a_closed_review_has_an_outcome_and_its_times():
    review = DesignReviewFactory(status=DesignReview.Status.CLOSED)

    assert review.outcome == DesignReview.Outcome.APPROVED
    assert review.opened_at is not None
    assert review.closed_at is not None


def test_one_verdict_per_reviewer_per_round():
    verdict = VerdictFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        VerdictFactory(review=verdict.review, reviewer=verdict.reviewer)


def test_stories_are_numbered_consecutively_in_each_milestone():
    milestone = MilestoneFactory()

    keys = [StoryFactory(milestone=milestone).key for _ in range(2)]

    assert keys == ["S-1", "S-2"]


def test_an_answered_concern_carries_its_answer():
    concern = ConcernFactory(status="answered")

    assert concern.answer
    assert concern.answered_by == concern.milestone.tech_lead


def test_rows_from_the_factories_read_back_as_the_facts_the_guards_expect():
    milestone = MilestoneFactory()
    owner = UserFactory()
    UnknownFactory(milestone=milestone, owner=owner, priority=Unknown.Priority.BLOCKER)
    UnknownFactory(milestone=milestone, status=Unknown.Status.RESOLVED)
    DesignReviewFactory(milestone=milestone, status=DesignReview.Status.CLOSED)
    DesignReviewFactory(milestone=milestone, status=DesignReview.Status.OPEN)
    KickoffMeetingFactory(milestone=milestone, held_at=milestone.created_at)
    ConcernFactory(milestone=milestone)
    ConcernFactory(milestone=milestone, status="answered")
    claimed = StoryFactory(milestone=milestone, assignee=owner)
    SubtaskFactory(story=claimed)
    StoryFactory(milestone=milestone)

    facts = milestone_facts(milestone)

    assert [(u.key, u.priority, u.owner_id, u.is_settled) for u in facts.unknowns] == [
        ("U-1", "blocker", owner.pk, False),
        ("U-2", "normal", None, True),
    ]
    assert facts.latest_review == ReviewFacts(2, "open", "")
    assert (facts.kickoff_held, facts.open_concerns) == (True, 1)
    assert [(s.key, s.claimed, s.subtasks) for s in facts.stories] == [
        ("S-1", True, 1),
        ("S-2", False, 0),
    ]
    assert set(facts.artifacts) == set(ARTIFACT_KINDS)
