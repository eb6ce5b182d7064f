"""The navigation bar's counts, read on every page in one query.

Deferrals waiting are counted from the principal engineer's milestones'
unknowns, each with at most one pending deferral; these tests hold that count
to the deferrals themselves.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import timezone

from planning import services
from planning.context_processors import navigation
from planning.models import DeferralRequest
from tests.factories import NotificationFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _counts(user) -> dict:
    request = RequestFactory().get("/")
    request.user = user
    return navigation(request)


def _ask(tech_lead, milestone, title: str) -> DeferralRequest:
    unknown = services.add_unknown(tech_lead, milestone, title=title)
    return services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M3")


def test_the_count_is_every_deferral_waiting_in_the_principals_projects(
    squad, project, tech_lead, principal, django_assert_num_queries
):
    other_project = ProjectFactory.create(
        squad=squad, slug="ledger", tech_lead=tech_lead, principal_engineer=principal
    )
    elsewhere = ProjectFactory.create(
        squad=squad, slug="fraud", tech_lead=tech_lead, principal_engineer=UserFactory.create()
    )
    first = services.create_milestone(tech_lead, project, title="Tokenise cards")
    second = services.create_milestone(tech_lead, project, title="Rotate keys")
    third = services.create_milestone(tech_lead, other_project, title="Ledger")
    for milestone in (first, first, second, third):
        _ask(tech_lead, milestone, f"Which HSM for {milestone.title}?")
    approved = _ask(tech_lead, second, "Approved later")
    services.decide_deferral(principal, approved, decision="approve")
    rejected = _ask(tech_lead, third, "Rejected later")
    services.decide_deferral(principal, rejected, decision="reject", note="Now.")
    _ask(tech_lead, services.create_milestone(tech_lead, elsewhere, title="Fraud"), "Not mine")

    with django_assert_num_queries(1):
        counts = _counts(principal)

    waiting = DeferralRequest.objects.filter(
        status=DeferralRequest.Status.PENDING,
        unknown__milestone__project__principal_engineer=principal,
    ).count()
    assert counts["approvals_count"] == waiting == 4
    assert counts["is_principal"] is True


def test_the_counts_of_someone_with_nothing_waiting(tech_lead, principal):
    NotificationFactory.create(recipient=tech_lead)
    NotificationFactory.create(recipient=tech_lead, read_at=timezone.now())
    NotificationFactory.create(recipient=principal)

    assert _counts(tech_lead) == {"unread_count": 1, "approvals_count": 0, "is_principal": False}
