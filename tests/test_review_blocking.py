"""Blocking comments (DESIGN §8): who raises them, who settles them, and the close they hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification, WebhookDelivery
from planning import services
from planning.exceptions import GuardRefused
from planning.models import Activity, Comment, DesignReview, Verdict
from planning.workflow import Phase
from squads.models import Squad
from tests.helpers import assert_api_error, put_in_phase

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
V1 = "/api/v1"


@pytest.fixture
def review(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    put_in_phase(milestone, Phase.DESIGN_REVIEW)
    review = services.schedule_review(tech_lead, milestone, scheduled_for=WHEN)
    return services.open_review(tech_lead, review)


@pytest.fixture
def approved_twice(review, engineer, principal):
    for person in (engineer, principal):
        services.set_verdict(person, review, Verdict.Choice.APPROVE)
    return review


@pytest.fixture
def blocker(approved_twice, engineer):
    return services.add_comment(
        engineer, approved_twice, body="The retry loop can double-charge.", blocking=True
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def close_approved(review, tech_lead):
    return services.close_review(tech_lead, review, DesignReview.Outcome.APPROVED)


def codes(refusal) -> list[str]:
    return [item.code for item in refusal.value.unmet]


# Through the services ---------------------------------------------------------------


def test_a_blocking_comment_refuses_close_as_approved_until_its_author_resolves_it(
    blocker, tech_lead, engineer
):
    with pytest.raises(GuardRefused) as refusal:
        close_approved(blocker.review, tech_lead)
    assert codes(refusal) == ["blocking_comments"]

    services.set_comment_resolved(engineer, blocker, True)

    assert close_approved(blocker.review, tech_lead).outcome == DesignReview.Outcome.APPROVED


def test_the_principal_engineer_overrules_a_blocking_comment_with_a_note_and_the_close_goes_through(
    blocker, tech_lead, principal
):
    services.overrule_comment(principal, blocker, "Retries are idempotent since M3.")

    blocker.refresh_from_db()
    assert (blocker.overruled_by, blocker.overrule_note, blocker.resolved) == (
        principal,
        "Retries are idempotent since M3.",
        False,
    )
    assert close_approved(blocker.review, tech_lead).status == DesignReview.Status.CLOSED


def test_an_overrule_without_a_note_is_refused(blocker, principal):
    with pytest.raises(ValidationError) as refusal:
        services.overrule_comment(principal, blocker, "   ")

    assert "note" in refusal.value.message_dict
    assert Comment.objects.get(pk=blocker.pk).overruled_at is None


@pytest.mark.parametrize("who", ["tech_lead", "engineer", "product"])
def test_only_the_principal_engineer_overrules(blocker, request, who):
    with pytest.raises(PermissionDenied):
        services.overrule_comment(request.getfixturevalue(who), blocker, "No.")


@pytest.mark.parametrize("who", ["tech_lead", "principal", "product"])
def test_only_its_author_resolves_a_blocking_comment(blocker, request, who):
    with pytest.raises(PermissionDenied):
        services.set_comment_resolved(request.getfixturevalue(who), blocker, True)

    assert not Comment.objects.get(pk=blocker.pk).resolved


def test_the_tech_lead_still_resolves_an_ordinary_comment(review, engineer, tech_lead):
    comment = services.add_comment(engineer, review, body="Typo in the heading.")

    assert services.set_comment_resolved(tech_lead, comment, True).resolved


def test_a_guest_cannot_raise_a_blocking_comment(review, tech_lead, guest):
    services.invite_guest(tech_lead, review, guest)

    with pytest.raises(PermissionDenied):
        services.add_comment(guest, review, body="Stop!", blocking=True)

    assert not review.comments.exists()


def test_a_reply_cannot_block(blocker, product):
    with pytest.raises(ValidationError) as refusal:
        services.add_comment(product, blocker.review, body="Agreed.", parent=blocker, blocking=True)

    assert "blocking" in refusal.value.message_dict


def test_the_author_marks_a_comment_blocking_later_and_only_the_author(review, engineer, product):
    comment = services.add_comment(engineer, review, body="What about refunds?")
    with pytest.raises(PermissionDenied):
        services.mark_blocking(product, comment)

    services.mark_blocking(engineer, comment)

    assert list(services.open_blocking_comments(review)) == [comment]


def test_an_overruled_comment_cannot_be_reopened_by_its_author(blocker, engineer, principal):
    services.overrule_comment(principal, blocker, "Accepted risk.")

    with pytest.raises(ValidationError):
        services.set_comment_resolved(engineer, blocker, True)


def test_reopening_a_resolved_blocking_comment_holds_the_close_again(blocker, engineer, tech_lead):
    services.set_comment_resolved(engineer, blocker, True)
    services.set_comment_resolved(engineer, blocker, False)

    with pytest.raises(GuardRefused) as refusal:
        close_approved(blocker.review, tech_lead)
    assert codes(refusal) == ["blocking_comments"]


def test_each_step_of_a_blocking_comment_is_an_activity_row_and_a_webhook_event(
    review, squad, engineer, principal
):
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/x")
    review.milestone.project.squad.webhook_url = "https://hooks.example.com/x"
    first = services.add_comment(engineer, review, body="Double charge risk.", blocking=True)
    second = services.add_comment(engineer, review, body="No audit trail.", blocking=True)
    services.set_comment_resolved(engineer, first, True)
    services.overrule_comment(principal, second, "The audit log covers it.")

    verbs = list(
        Activity.objects.filter(milestone=review.milestone)
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs[-4:] == [
        "comment_blocking",
        "comment_blocking",
        "blocking_resolved",
        "comment_overruled",
    ]
    overruled = Activity.objects.get(verb="comment_overruled")
    assert overruled.data["note"] == "The audit log covers it."
    assert overruled.data["quote"] == "No audit trail."
    assert list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True)) == [
        "review.comment_blocking",
        "review.comment_blocking",
        "review.comment_resolved",
        "review.comment_overruled",
    ]


def test_the_tech_lead_hears_of_a_blocker_and_its_author_of_the_overrule(
    blocker, engineer, tech_lead, principal
):
    services.overrule_comment(principal, blocker, "Accepted risk.")

    raised = Notification.objects.get(kind=Notification.Kind.BLOCKING_COMMENT)
    assert raised.recipient == tech_lead
    assert "double-charge" in raised.text
    overruled = {
        n.recipient: n.text
        for n in Notification.objects.filter(kind=Notification.Kind.COMMENT_OVERRULED)
    }
    assert set(overruled) == {engineer, tech_lead}
    assert "overruled your blocking comment" in overruled[engineer]
    assert "overruled the blocking comment of" in overruled[tech_lead]
    assert "Accepted risk." in overruled[engineer]


def test_the_close_records_the_counted_verdicts_it_closed_with(approved_twice, tech_lead):
    close_approved(approved_twice, tech_lead)

    closed = Activity.objects.get(verb="review_closed")
    assert [(v["verdict"], v["stale"]) for v in closed.data["verdicts"]] == [
        ("approve", False),
        ("approve", False),
    ]


# Through the API --------------------------------------------------------------------


def test_api_close_is_409_with_unmet_while_a_blocking_comment_is_open(blocker, tech_lead, engineer):
    answer = api(tech_lead).post(
        f"{V1}/reviews/{blocker.review_id}/close/", {"outcome": "approved"}, format="json"
    )

    body = assert_api_error(answer, 409)
    assert [u["code"] for u in body["unmet"]] == ["blocking_comments"]
    assert body["unmet"][0]["message"] == "1 blocking comment is unresolved."

    resolved = api(engineer).patch(
        f"{V1}/comments/{blocker.pk}/", {"resolved": True}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    closed = api(tech_lead).post(
        f"{V1}/reviews/{blocker.review_id}/close/", {"outcome": "approved"}, format="json"
    )
    assert closed.json()["outcome"] == "approved"


def test_api_posts_a_blocking_comment_and_shows_it(review, engineer):
    answer = api(engineer).post(
        f"{V1}/reviews/{review.pk}/comments/",
        {"body": "Card numbers reach the logs.", "blocking": True},
        format="json",
    )

    assert answer.status_code == 201
    assert answer.json()["blocking"] is True
    assert answer.json()["overruled_by"] is None
    assert review.comments.get().blocking


def test_api_blocking_from_a_guest_is_403_and_nothing_is_saved(review, tech_lead, guest):
    services.invite_guest(tech_lead, review, guest)
    answer = api(guest).post(
        f"{V1}/reviews/{review.pk}/comments/", {"body": "Stop", "blocking": True}, format="json"
    )

    assert_api_error(answer, 403)
    assert not review.comments.exists()


def test_api_only_the_author_resolves_a_blocking_comment(blocker, tech_lead):
    answer = api(tech_lead).patch(f"{V1}/comments/{blocker.pk}/", {"resolved": True}, format="json")

    assert_api_error(answer, 403)
    assert not Comment.objects.get(pk=blocker.pk).resolved


def test_api_marks_a_comment_blocking_later(review, engineer):
    comment = services.add_comment(engineer, review, body="Where do refunds go?")

    answer = api(engineer).patch(f"{V1}/comments/{comment.pk}/", {"blocking": True}, format="json")

    assert answer.json()["blocking"] is True
    unmarked = api(engineer).patch(
        f"{V1}/comments/{comment.pk}/", {"blocking": False}, format="json"
    )
    assert_api_error(unmarked, 400, "blocking")


def test_api_overrule_by_the_principal_engineer(blocker, principal, engineer):
    refused = api(engineer).post(
        f"{V1}/comments/{blocker.pk}/overrule/", {"note": "Mine."}, format="json"
    )
    assert_api_error(refused, 403)
    no_note = api(principal).post(f"{V1}/comments/{blocker.pk}/overrule/", {}, format="json")
    assert_api_error(no_note, 400, "note")

    answer = api(principal).post(
        f"{V1}/comments/{blocker.pk}/overrule/", {"note": "Accepted risk."}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["overrule_note"] == "Accepted risk."
    assert answer.json()["overruled_by"]["username"] == principal.username


@pytest.mark.parametrize("body", [{"blocking": "maybe"}, {"blocking": [True]}, {"blocking": None}])
def test_api_a_blocking_that_is_no_boolean_is_400_on_the_field(review, engineer, body):
    answer = api(engineer).post(
        f"{V1}/reviews/{review.pk}/comments/", {"body": "Hm.", **body}, format="json"
    )

    assert_api_error(answer, 400, "blocking")
    assert not review.comments.exists()


def test_api_an_overrule_note_with_a_nul_is_400_on_the_field(blocker, principal):
    answer = api(principal).post(
        f"{V1}/comments/{blocker.pk}/overrule/", {"note": "ok\x00"}, format="json"
    )

    assert_api_error(answer, 400, "note")


# On the page ------------------------------------------------------------------------


def page_url(name: str, review: DesignReview, **extra) -> str:
    return reverse(
        f"planning:{name}",
        kwargs={**review.milestone.url_kwargs(), "round": review.round, **extra},
    )


def test_the_page_posts_a_blocking_comment_and_the_close_panel_names_it(
    client, review, engineer, tech_lead
):
    client.force_login(engineer)
    client.post(
        page_url("comment-add", review), {"body": "Keys live in the repo.", "blocking": "on"}
    )
    comment = review.comments.get()
    assert comment.blocking

    client.force_login(tech_lead)
    page = client.get(review.get_absolute_url()).content.decode()
    assert "1 blocking comment is unresolved." in page
    assert f'href="#comment-{comment.pk}"' in page
    assert "blocking</span>" in page


def test_the_page_refuses_close_as_approved_and_says_why(client, blocker, tech_lead):
    client.force_login(tech_lead)

    answer = client.post(page_url("review-close", blocker.review), {"outcome": "approved"})

    assert answer.status_code == 409
    assert "1 blocking comment is unresolved." in answer.content.decode()
    assert DesignReview.objects.get(pk=blocker.review_id).status == DesignReview.Status.OPEN


def test_the_page_offers_the_overrule_to_the_principal_engineer_only(
    client, blocker, principal, tech_lead
):
    client.force_login(tech_lead)
    assert "comment-overrule" not in client.get(blocker.review.get_absolute_url()).content.decode()
    assert "/overrule/" not in client.get(blocker.review.get_absolute_url()).content.decode()

    client.force_login(principal)
    assert "/overrule/" in client.get(blocker.review.get_absolute_url()).content.decode()
    client.post(
        page_url("comment-overrule", blocker.review, pk=blocker.pk), {"note": "Accepted risk."}
    )

    blocker.refresh_from_db()
    assert blocker.overrule_note == "Accepted risk."
    page = client.get(blocker.review.get_absolute_url()).content.decode()
    assert "Overruled by" in page and "Accepted risk." in page


def test_the_page_lets_the_author_mark_a_comment_blocking(client, review, engineer):
    comment = services.add_comment(engineer, review, body="Where do refunds go?")
    client.force_login(engineer)

    client.post(page_url("comment-block", review, pk=comment.pk))

    assert Comment.objects.get(pk=comment.pk).blocking


def test_the_page_keeps_the_tech_lead_from_resolving_a_blocking_comment(client, blocker, tech_lead):
    client.force_login(tech_lead)

    answer = client.post(
        page_url("comment-resolve", blocker.review, pk=blocker.pk), {"resolved": "true"}
    )

    assert answer.status_code == 403
    assert not Comment.objects.get(pk=blocker.pk).resolved
