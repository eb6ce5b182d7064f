"""Approve with conditions (DESIGN §8): each condition an unknown that holds the milestone before done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from planning import services
from planning.models import Activity, DesignReview, Unknown, Verdict
from planning.workflow import Phase
from tests.helpers import assert_api_error, put_in_phase

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
V1 = "/api/v1"
WITH_CONDITIONS = Verdict.Choice.APPROVE_WITH_CONDITIONS


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


def conditions_of(review: DesignReview) -> list[tuple[str, str, str]]:
    return [
        (u.key, u.title, u.priority)
        for u in Unknown.objects.filter(milestone=review.milestone, from_verdict__isnull=False)
    ]


def test_each_condition_becomes_a_high_unknown_owned_by_the_tech_lead(review, principal, tech_lead):
    verdict = services.set_verdict(
        principal,
        review,
        WITH_CONDITIONS,
        "Fine once these are done.",
        ["Load-test the vault at 2k rps", "Name an owner for key rotation"],
    )

    made = list(verdict.conditions.order_by("number"))
    assert [(u.key, u.title) for u in made] == [
        ("U-1", "Load-test the vault at 2k rps"),
        ("U-2", "Name an owner for key rotation"),
    ]
    assert {(u.priority, u.owner, u.status) for u in made} == {
        (Unknown.Priority.HIGH, tech_lead, Unknown.Status.OPEN)
    }
    assert made[0].detail == (
        f"A condition of {principal.display_name}'s approval in design review 1: "
        "Fine once these are done."
    )


def test_an_approval_with_conditions_counts_toward_the_close(
    review, principal, engineer, tech_lead
):
    services.set_verdict(principal, review, WITH_CONDITIONS, "", ["Load-test the vault"])
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)

    closed = services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)

    assert closed.outcome == DesignReview.Outcome.APPROVED


def test_conditions_hold_the_milestone_before_done_until_settled(review, principal, tech_lead):
    services.set_verdict(principal, review, WITH_CONDITIONS, "", ["Load-test the vault"])
    milestone = put_in_phase(review.milestone, Phase.TASK_BREAKOUT)

    unmet = [u.code for u in services.readiness(milestone)["unmet"]]
    assert "unknown_unsettled:U-1" in unmet

    condition = Unknown.objects.get(milestone=milestone, number=1)
    services.resolve_unknown(tech_lead, condition, resolution="2.4k rps sustained.")
    unmet = [u.code for u in services.readiness(milestone)["unmet"]]
    assert "unknown_unsettled:U-1" not in unmet


def test_conditions_are_required_with_that_verdict_and_only_with_it(review, engineer):
    with pytest.raises(ValidationError) as none_given:
        services.set_verdict(engineer, review, WITH_CONDITIONS, "", ["  ", ""])
    with pytest.raises(ValidationError) as misplaced:
        services.set_verdict(engineer, review, Verdict.Choice.APPROVE, "", ["Do X"])

    assert "conditions" in none_given.value.message_dict
    assert "conditions" in misplaced.value.message_dict
    assert not review.verdicts.exists() and not Unknown.objects.exists()


@pytest.mark.parametrize(
    "conditions, complaint",
    [
        ([f"Condition {n}" for n in range(11)], "At most 10 conditions"),
        (["x" * 201], "within 200 characters"),
        (["Tab\x07bell"], "control character"),
    ],
)
def test_a_condition_that_is_no_title_is_refused(review, engineer, conditions, complaint):
    with pytest.raises(ValidationError) as refusal:
        services.set_verdict(engineer, review, WITH_CONDITIONS, "", conditions)

    assert complaint in " ".join(refusal.value.message_dict["conditions"])
    assert not Unknown.objects.exists()


def test_a_replaced_verdict_keeps_its_conditions_and_the_same_condition_is_not_made_twice(
    review, engineer
):
    services.set_verdict(engineer, review, WITH_CONDITIONS, "", ["Load-test the vault"])
    services.set_verdict(engineer, review, Verdict.Choice.APPROVE)
    services.set_verdict(
        engineer, review, WITH_CONDITIONS, "", ["Load-test the vault", "Write the runbook"]
    )

    assert [t for _, t, _ in conditions_of(review)] == ["Load-test the vault", "Write the runbook"]
    assert Verdict.objects.get().verdict == WITH_CONDITIONS


def test_a_guests_approval_cannot_carry_conditions(review, tech_lead, guest):
    services.invite_guest(tech_lead, review, guest)

    with pytest.raises(ValidationError):
        services.set_verdict(guest, review, WITH_CONDITIONS, "", ["Do X"])

    assert not Unknown.objects.exists()


def test_each_condition_is_an_activity_row_and_the_tech_lead_is_told(review, engineer, tech_lead):
    services.set_verdict(engineer, review, WITH_CONDITIONS, "", ["A", "B"])

    rows = Activity.objects.filter(verb="condition_added").order_by("id")
    assert [r.data["key"] for r in rows] == ["U-1", "U-2"]
    told = Notification.objects.get(kind=Notification.Kind.UNKNOWN_ASSIGNED)
    assert told.recipient == tech_lead and "U-1 “A”; U-2 “B”" in told.text


# API -------------------------------------------------------------------------------


def test_api_approve_with_conditions_answers_with_the_unknowns(review, principal):
    answer = api(principal).put(
        f"{V1}/reviews/{review.pk}/verdict/",
        {"verdict": "approve_with_conditions", "conditions": ["Load-test the vault"]},
        format="json",
    )

    assert answer.status_code == 200
    [condition] = answer.json()["conditions"]
    assert (condition["key"], condition["title"], condition["status"]) == (
        "U-1",
        "Load-test the vault",
        "open",
    )
    detail = api(principal).get(f"{V1}/reviews/{review.pk}/").json()
    assert detail["verdicts"][0]["conditions"][0]["key"] == "U-1"
    unknown = api(principal).get(f"{V1}/unknowns/{condition['id']}/").json()
    assert unknown["from_verdict"] == detail["verdicts"][0]["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"verdict": "approve_with_conditions"},
        {"verdict": "approve_with_conditions", "conditions": []},
        {"verdict": "approve_with_conditions", "conditions": "Load-test"},
        {"verdict": "approve_with_conditions", "conditions": [["nested"]]},
        {"verdict": "approve_with_conditions", "conditions": ["x" * 201]},
        {"verdict": "approve_with_conditions", "conditions": ["a\nb"]},
        {"verdict": "approve_with_conditions", "conditions": ["ok"] * 11},
        {"verdict": "approve", "conditions": ["Load-test"]},
    ],
)
def test_api_bad_conditions_are_a_400_on_the_field(review, engineer, body):
    answer = api(engineer).put(f"{V1}/reviews/{review.pk}/verdict/", body, format="json")

    assert_api_error(answer, 400, "conditions")
    assert not review.verdicts.exists() and not Unknown.objects.exists()


# The page --------------------------------------------------------------------------


def test_the_page_form_takes_one_condition_per_line_and_shows_them_on_the_verdict(
    client, review, principal
):
    client.force_login(principal)
    url = reverse(
        "planning:verdict-set", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )

    client.post(
        url,
        {"verdict": WITH_CONDITIONS, "note": "", "conditions": "Load-test the vault\n\nRunbook\n"},
    )

    assert [t for _, t, _ in conditions_of(review)] == ["Load-test the vault", "Runbook"]
    page = client.get(review.get_absolute_url()).content.decode()
    assert "verdict-conditions" in page and "U-1</a> Load-test the vault" in page


def test_a_refused_condition_comes_back_as_typed_with_the_reason(client, review, principal):
    client.force_login(principal)
    url = reverse(
        "planning:verdict-set", kwargs={**review.milestone.url_kwargs(), "round": review.round}
    )

    answer = client.post(url, {"verdict": WITH_CONDITIONS, "note": "Nearly.", "conditions": ""})

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Name at least one condition" in page and "Nearly." in page
    assert not review.verdicts.exists()


def test_the_unknown_page_says_whose_condition_it_is(client, review, principal, tech_lead):
    services.set_verdict(principal, review, WITH_CONDITIONS, "", ["Load-test the vault"])
    client.force_login(tech_lead)

    unknown = Unknown.objects.get()
    page = client.get(unknown.get_absolute_url()).content.decode()

    assert f"Condition of {principal.display_name}\u2019s approval in" in page
    assert "design review 1</a>" in page
