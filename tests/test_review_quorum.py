"""Quorum (DESIGN §8): a squad may require the principal engineer's approval to close approved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from planning import services
from planning.exceptions import GuardRefused
from planning.models import DesignReview, Verdict
from planning.workflow import Phase
from squads.models import Squad
from tests.helpers import assert_api_error, put_in_phase

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
V1 = "/api/v1"


@pytest.fixture
def strict(squad):
    Squad.objects.filter(pk=squad.pk).update(require_principal_approval=True)


@pytest.fixture
def review(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    return services.open_review(tech_lead, review)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_close_without_the_principal_engineers_approval_is_refused_when_the_squad_asks_for_it(
    strict, review, tech_lead, engineer, product, principal
):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(product, review, Verdict.Choice.APPROVE)

    with pytest.raises(GuardRefused) as refusal:
        services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)
    assert [u.code for u in refusal.value.unmet] == ["principal_approval"]

    services.set_verdict(principal, review, Verdict.Choice.APPROVE_WITH_CONDITIONS, "", ["Audit"])
    closed = services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)
    assert closed.outcome == DesignReview.Outcome.APPROVED


def test_without_the_setting_two_squad_approvals_are_enough(review, tech_lead, engineer, product):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(product, review, Verdict.Choice.APPROVE)

    assert services.close_review(tech_lead, review, "approved").status == "closed"


def test_api_close_is_409_naming_the_principal_approval(
    strict, review, tech_lead, engineer, product
):
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(product, review, Verdict.Choice.APPROVE)

    answer = api(tech_lead).post(
        f"{V1}/reviews/{review.pk}/close/", {"outcome": "approved"}, format="json"
    )

    body = assert_api_error(answer, 409)
    assert body["unmet"] == [
        {
            "code": "principal_approval",
            "message": "The squad requires the principal engineer's approval on the current revisions.",
        }
    ]


def test_api_patch_squad_sets_the_setting_and_shows_it(squad, tech_lead, engineer):
    answer = api(tech_lead).patch(
        f"{V1}/squads/{squad.slug}/", {"require_principal_approval": True}, format="json"
    )

    assert answer.status_code == 200 and answer.json()["require_principal_approval"] is True
    assert Squad.objects.get(pk=squad.pk).require_principal_approval
    assert api(engineer).get(f"{V1}/squads/{squad.slug}/").json()["require_principal_approval"]


@pytest.mark.parametrize("value", ["perhaps", None, [True], 2])
def test_api_a_setting_that_is_no_boolean_is_400_on_the_field(squad, tech_lead, value):
    answer = api(tech_lead).patch(
        f"{V1}/squads/{squad.slug}/", {"require_principal_approval": value}, format="json"
    )

    assert_api_error(answer, 400, "require_principal_approval")
    assert not Squad.objects.get(pk=squad.pk).require_principal_approval


def test_api_only_a_tech_lead_sets_it(squad, engineer):
    answer = api(engineer).patch(
        f"{V1}/squads/{squad.slug}/", {"require_principal_approval": True}, format="json"
    )

    assert_api_error(answer, 403)
    assert not Squad.objects.get(pk=squad.pk).require_principal_approval


def test_the_settings_form_has_the_checkbox_and_saves_it(client, squad, tech_lead):
    client.force_login(tech_lead)
    url = reverse("squads:settings", kwargs={"slug": squad.slug})
    assert 'name="require_principal_approval"' in client.get(url).content.decode()

    client.post(
        url,
        {
            "name": squad.name,
            "description": "",
            "breakout_mode": squad.breakout_mode,
            "remind_after_days": 3,
            "escalate_after_days": 7,
            "vendor_followup_days": 5,
            "min_review_approvals": 2,
            "require_principal_approval": "on",
            "webhook_url": "",
        },
    )

    assert Squad.objects.get(pk=squad.pk).require_principal_approval
