"""Leaving a squad raced on PostgreSQL with real threads, against what reads membership.

A verdict counts while its reviewer is in the squad (or is the project's
principal engineer); a project is led by a member. Removing a member races
the verdict they are giving, the close that counts it, and their promotion to
project lead; whatever the interleaving, those rules hold afterwards.
"""

from __future__ import annotations

import pytest

from planning import services
from planning.models import DesignReview, Project, Verdict
from planning.services.reviews import approval_facts
from planning.workflow import Phase, approval_unmet
from squads import services as squad_services
from squads.models import Membership
from tests.factories import DesignReviewFactory, MilestoneFactory, VerdictFactory
from tests.racing import as_loaded, broken_rounds, kinds, racers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def race():
    with racers() as started:
        yield started.run


def review_of(project, *approvers) -> DesignReview:
    """An open review round of a new milestone, approved by `approvers` (counted)."""
    milestone = MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW)
    review = DesignReviewFactory.create(milestone=milestone, status=DesignReview.Status.OPEN)
    for person in approvers:
        VerdictFactory.create(review=review, reviewer=person)
    return DesignReview.objects.select_related(
        "milestone__project__squad",
        "milestone__project__principal_engineer",
        "milestone__tech_lead",
    ).get(pk=review.pk)


def back_in(squad, user) -> None:
    """Make `user` an engineer of the squad again for the next round."""
    Membership.objects.get_or_create(
        squad=squad, user=user, defaults={"role": Membership.Role.ENGINEER}
    )


def miscounted(review: DesignReview) -> list[str]:
    """Verdicts on an open review whose `counted` does not say whether the reviewer counts now."""
    members = set(
        Membership.objects.filter(squad_id=review.milestone.project.squad_id).values_list(
            "user_id", flat=True
        )
    )
    principal = review.milestone.project.principal_engineer_id
    return [
        f"{verdict.reviewer_id} counted={verdict.counted}"
        for verdict in Verdict.objects.filter(review=review)
        if verdict.counted != (verdict.reviewer_id in members or verdict.reviewer_id == principal)
    ]


def test_a_member_removed_while_giving_a_verdict_is_never_counted(
    race, squad, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, tech_lead)

        outcomes = race(
            lambda: squad_services.remove_member(
                as_loaded(tech_lead), as_loaded(squad), as_loaded(engineer)
            ),
            lambda: services.set_verdict(as_loaded(engineer), review, Verdict.Choice.APPROVE),
        )

        broken = []
        if kinds(outcomes) not in {("NoneType", "Verdict"), ("NoneType", "PermissionDenied")}:
            broken.append(f"outcomes {outcomes}")
        broken += [f"miscounted: {each}" for each in miscounted(review)]
        DesignReview.objects.filter(pk=review.pk).update(status=DesignReview.Status.CLOSED)
        back_in(squad, engineer)
        return broken

    assert broken_rounds(one_round) == []


def test_a_member_removed_while_the_review_closes_leaves_the_close_as_counted(
    race, squad, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        review = review_of(project, tech_lead, engineer)

        outcomes = race(
            lambda: squad_services.remove_member(
                as_loaded(tech_lead), as_loaded(squad), as_loaded(engineer)
            ),
            lambda: services.close_review(
                as_loaded(tech_lead), review, DesignReview.Outcome.APPROVED
            ),
        )

        review.refresh_from_db()
        broken = []
        if kinds(outcomes) not in {("NoneType", "DesignReview"), ("NoneType", "GuardRefused")}:
            broken.append(f"outcomes {outcomes}")
        if review.outcome == DesignReview.Outcome.APPROVED:
            unmet = approval_unmet(approval_facts(review))
            if unmet:
                broken.append(f"closed approved, but its verdicts say: {unmet}")
        else:
            broken += [f"miscounted: {each}" for each in miscounted(review)]
            DesignReview.objects.filter(pk=review.pk).update(status=DesignReview.Status.CLOSED)
        back_in(squad, engineer)
        return broken

    assert broken_rounds(one_round) == []


def test_a_member_removed_as_they_are_made_project_lead_never_leaves_an_outsider_leading(
    race, squad, project, tech_lead, engineer
):
    def one_round(n: int) -> list[str]:
        leading = Project.objects.select_related("squad").get(pk=project.pk)

        outcomes = race(
            lambda: squad_services.remove_member(
                as_loaded(tech_lead), as_loaded(squad), as_loaded(engineer)
            ),
            lambda: services.update_project(
                as_loaded(tech_lead), leading, tech_lead=as_loaded(engineer)
            ),
        )

        lead = Project.objects.get(pk=project.pk).tech_lead_id
        broken = []
        if kinds(outcomes) not in {("NoneType", "ValidationError"), ("ValidationError", "Project")}:
            broken.append(f"outcomes {outcomes}")
        if not Membership.objects.filter(squad=squad, user_id=lead).exists():
            broken.append("the project is led by someone outside the squad")
        Project.objects.filter(pk=project.pk).update(tech_lead=tech_lead)
        back_in(squad, engineer)
        return broken

    assert broken_rounds(one_round) == []
