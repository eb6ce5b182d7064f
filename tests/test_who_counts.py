"""Whose verdict counts: squad members and the project's principal engineer, while they are.

A verdict on an open review counts while its reviewer is in the squad or is
the project's principal engineer, so leaving the squad, joining it, or a new
principal engineer recounts the open reviews; a closed review keeps its
verdicts as they counted when it closed.
"""

from __future__ import annotations

import pytest

from planning import services
from planning.models import DesignReview, Verdict
from planning.workflow import Phase
from squads import services as squad_services
from squads.models import Membership
from tests.factories import DesignReviewFactory, MilestoneFactory, UserFactory, VerdictFactory

pytestmark = pytest.mark.django_db

OPEN, CLOSED = DesignReview.Status.OPEN, DesignReview.Status.CLOSED


def review_with_verdict_of(project, reviewer, status=OPEN) -> DesignReview:
    review = DesignReviewFactory.create(
        milestone=MilestoneFactory.create(project=project, phase=Phase.DESIGN_REVIEW), status=status
    )
    VerdictFactory.create(review=review, reviewer=reviewer)
    return review


def counts(review: DesignReview, reviewer) -> bool:
    return Verdict.objects.get(review=review, reviewer=reviewer).counted


def test_a_member_who_leaves_the_squad_no_longer_counts_on_its_open_reviews(
    squad, project, tech_lead, engineer
):
    review = review_with_verdict_of(project, engineer)

    squad_services.remove_member(tech_lead, squad, engineer)

    assert counts(review, engineer) is False


def test_a_closed_review_keeps_the_verdicts_as_they_counted(squad, project, tech_lead, engineer):
    review = review_with_verdict_of(project, engineer, status=CLOSED)

    squad_services.remove_member(tech_lead, squad, engineer)

    assert counts(review, engineer) is True


def test_a_member_who_comes_back_counts_again(squad, project, tech_lead, engineer):
    review = review_with_verdict_of(project, engineer)
    squad_services.remove_member(tech_lead, squad, engineer)

    squad_services.add_member(tech_lead, squad, engineer, Membership.Role.PRODUCT)

    assert counts(review, engineer) is True


def test_a_role_change_leaves_a_verdict_counted(squad, project, tech_lead, engineer):
    review = review_with_verdict_of(project, engineer)

    squad_services.change_role(tech_lead, squad, engineer, Membership.Role.PRODUCT)

    assert counts(review, engineer) is True


def test_the_principal_engineer_counts_whether_or_not_in_the_squad(
    squad, project, tech_lead, principal
):
    review = review_with_verdict_of(project, principal)
    squad_services.add_member(tech_lead, squad, principal, Membership.Role.ENGINEER)

    squad_services.remove_member(tech_lead, squad, principal)

    assert counts(review, principal) is True


def test_a_new_principal_engineer_counts_and_the_one_replaced_no_longer_does(
    project, tech_lead, principal
):
    successor = UserFactory.create(username="quinn")
    review = review_with_verdict_of(project, principal)
    Verdict.objects.create(review=review, reviewer=successor, verdict="approve", counted=False)

    services.update_project(tech_lead, project, principal_engineer=successor)

    assert (counts(review, principal), counts(review, successor)) == (False, True)
