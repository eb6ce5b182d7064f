"""Design reviews raced on PostgreSQL with real threads: verdicts, the close, the opening, rounds.

The approval rule reads a review's verdicts while the close changes the
review; a verdict reads the review's status while it writes itself. Each test
races one such pair for many rounds, on a fresh review each round, and checks
after every round what must hold whatever the interleaving.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from planning import services
from planning.models import Activity, DesignReview, Milestone, Verdict
from planning.workflow import ArtifactKind, Phase
from tests.factories import DesignReviewFactory, MilestoneFactory, VerdictFactory
from tests.helpers import artifact_of, write_artifact
from tests.racing import as_loaded, broken_rounds, kinds, racers, timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

APPROVED = DesignReview.Outcome.APPROVED
CLOSED = DesignReview.Status.CLOSED


@pytest.fixture
def race():
    with racers() as started:
        yield started.run


def review_of(project, *approvers, status=DesignReview.Status.OPEN) -> DesignReview:
    """A review round of a new milestone in Design review, approved by `approvers` (counted)."""
    milestone = MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW)
    review = DesignReviewFactory.create(milestone=milestone, status=status)
    for person in approvers:
        VerdictFactory.create(review=review, reviewer=person)
    return review


def loaded(review: DesignReview) -> DesignReview:
    """The review as a page loads it, before the race starts."""
    return DesignReview.objects.select_related(
        "milestone__project__squad",
        "milestone__project__principal_engineer",
        "milestone__tech_lead",
    ).get(pk=review.pk)


def test_a_request_for_changes_racing_a_close_as_approved_never_leaves_both_standing(
    race, project, tech_lead, engineer, product
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, tech_lead, engineer)
        closing, judged = loaded(review), loaded(review)

        outcomes = race(
            lambda: services.close_review(as_loaded(tech_lead), closing, APPROVED),
            lambda: services.set_verdict(
                as_loaded(product), judged, Verdict.Choice.CHANGES_REQUESTED, "Add rate limits."
            ),
        )

        review.refresh_from_db()
        counted_changes = review.verdicts.filter(
            counted=True, verdict=Verdict.Choice.CHANGES_REQUESTED
        )
        broken = []
        if kinds(outcomes) not in {
            ("DesignReview", "ValidationError"),
            ("GuardRefused", "Verdict"),
        }:
            broken.append(f"outcomes {outcomes}")
        if review.outcome == APPROVED and counted_changes.exists():
            broken.append("closed approved with a counted request for changes")
        if review.closed_at and review.verdicts.filter(updated_at__gt=review.closed_at).exists():
            broken.append("a verdict was given after the close")
        return broken

    assert broken_rounds(one_round) == []


def test_a_verdict_racing_the_opening_is_refused_or_given_on_the_open_review(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, status=DesignReview.Status.SCHEDULED)
        opening, judged = loaded(review), loaded(review)

        outcomes = race(
            lambda: services.open_review(as_loaded(tech_lead), opening),
            lambda: services.set_verdict(as_loaded(engineer), judged, Verdict.Choice.APPROVE),
        )

        review.refresh_from_db()
        broken = []
        if kinds(outcomes) not in {
            ("DesignReview", "Verdict"),
            ("DesignReview", "ValidationError"),
        }:
            broken.append(f"outcomes {outcomes}")
        for verdict in review.verdicts.all():
            if review.opened_at is None or verdict.updated_at < review.opened_at:
                broken.append("a verdict was given before the review opened")
        return broken

    assert broken_rounds(one_round) == []


def test_opening_a_review_racing_a_move_back_never_opens_it_outside_design_review(
    race, project, tech_lead
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, status=DesignReview.Status.SCHEDULED)
        opening, moving = loaded(review), loaded(review).milestone

        outcomes = race(
            lambda: services.open_review(as_loaded(tech_lead), opening),
            lambda: services.move_back(
                as_loaded(tech_lead), moving, to=Phase.DESIGN_SPEC, note="The spec needs work."
            ),
        )

        broken = []
        if kinds(outcomes) not in {("DesignReview", "Milestone"), ("ValidationError", "Milestone")}:
            broken.append(f"outcomes {outcomes}")
        if timeline(review.milestone) not in (
            ["review_opened", "phase_moved_back"],
            ["phase_moved_back"],
        ):
            broken.append(f"opened after the move back: {timeline(review.milestone)}")
        return broken

    assert broken_rounds(one_round) == []


def test_rescheduling_a_review_racing_its_close_never_reopens_it(
    race, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, tech_lead, engineer)
        moving, closing = loaded(review), loaded(review)

        outcomes = race(
            lambda: services.update_review(as_loaded(tech_lead), moving, location="Room 9"),
            lambda: services.close_review(as_loaded(tech_lead), closing, APPROVED),
        )

        review.refresh_from_db()
        broken = []
        if kinds(outcomes) not in {
            ("DesignReview", "DesignReview"),
            ("ValidationError", "DesignReview"),
        }:
            broken.append(f"outcomes {outcomes}")
        if (review.status, review.outcome) != (CLOSED, APPROVED):
            broken.append(f"the close was undone: {review.status} {review.outcome!r}")
        if isinstance(outcomes[0], DesignReview) and review.location != "Room 9":
            broken.append("the new room was lost")
        return broken

    assert broken_rounds(one_round) == []


def test_two_rounds_scheduled_at_once_give_one_round_and_one_refusal(race, project, tech_lead):
    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW)
        first, second = (Milestone.objects.get(pk=milestone.pk) for _ in range(2))
        when = timezone.now()

        outcomes = race(
            lambda: services.schedule_review(as_loaded(tech_lead), first, scheduled_for=when),
            lambda: services.schedule_review(as_loaded(tech_lead), second, scheduled_for=when),
        )

        rounds = list(milestone.reviews.values_list("round", flat=True))
        broken = []
        if sorted(kinds(outcomes)) != ["DesignReview", "ValidationError"]:
            broken.append(f"outcomes {outcomes}")
        if rounds != [1]:
            broken.append(f"rounds {rounds}")
        return broken

    assert broken_rounds(one_round) == []


def test_a_new_revision_racing_a_close_as_approved_never_closes_on_a_stale_approval(
    race, project, squad, tech_lead, engineer
):
    """The close reads the artifacts' revisions under their row locks; the save takes the
    same row, so one of them waits for the other: either the new revision lands first and
    the approvals on the old one are stale (the close is refused), or the review closes on
    the revision its approvals saw and the save follows."""
    squad.min_review_approvals = 1
    squad.save(update_fields=["min_review_approvals"])
    spec = ArtifactKind.DESIGN_SPEC

    def one_round(n: int) -> list[str]:
        milestone = MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW)
        write_artifact(tech_lead, milestone, spec, f"Round {n}: keep only tokens.\n")
        review = DesignReviewFactory.create(milestone=milestone, status=DesignReview.Status.OPEN)
        services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
        closing = loaded(review)
        artifact = as_loaded(artifact_of(milestone, spec))

        outcomes = race(
            lambda: services.close_review(as_loaded(tech_lead), closing, APPROVED),
            lambda: services.save_artifact_body(
                as_loaded(engineer),
                artifact,
                body=f"Round {n}: tokens, and keys.\n",
                base_revision=1,
            ),
        )

        review.refresh_from_db()
        broken = []
        if kinds(outcomes) not in {("DesignReview", "Artifact"), ("GuardRefused", "Artifact")}:
            broken.append(f"outcomes {outcomes}")
        went_stale = timeline(milestone).count("verdicts_stale")
        if review.outcome == APPROVED:
            closed = Activity.objects.get(milestone=milestone, verb="review_closed")
            approvals = review.verdicts.filter(counted=True, verdict=Verdict.Choice.APPROVE)
            if any(a.revisions != closed.data["revisions"] for a in approvals):
                broken.append("an approval counted for revisions the close did not see")
            if closed.data["revisions"][spec] != 1 or went_stale:
                broken.append("closed approved although revision 2 landed while it was open")
        elif went_stale != 1:
            broken.append("the close was refused but no approval went stale")
        return broken

    assert broken_rounds(one_round, rounds=30) == []
