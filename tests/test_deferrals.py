"""Deferrals: asked by the milestone's tech lead, decided by the project's principal engineer."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from notifications.models import Notification
from planning import services
from planning.exceptions import DeferralConflict
from planning.models import Activity, DeferralRequest, Unknown
from squads.models import Membership
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory
from tests.helpers import assert_forbidden_page, assert_not_found_page, unknown_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


@pytest.fixture
def unknown(milestone, engineer):
    return services.add_unknown(
        engineer, milestone, title="Which HSM?", priority="blocker", owner=engineer
    )


def ask(tech_lead, unknown, reason="Only matters at scale.", defer_until="M3"):
    return services.request_deferral(tech_lead, unknown, reason=reason, defer_until=defer_until)


@pytest.fixture
def deferral(unknown, tech_lead):
    return ask(tech_lead, unknown)


def status_of(unknown) -> str:
    return Unknown.objects.values_list("status", flat=True).get(pk=unknown.pk)


def decide_url(deferral) -> str:
    return reverse("planning:deferral-decide", kwargs={"pk": deferral.pk})


# request_deferral ------------------------------------------------------------------------


def test_the_tech_lead_asks_for_a_deferral_and_the_principal_is_told(unknown, tech_lead, principal):
    deferral = ask(tech_lead, unknown, reason="  Only matters at scale. ", defer_until=" M3 ")

    assert (deferral.status, deferral.requested_by) == ("pending", tech_lead)
    assert (deferral.reason, deferral.defer_until) == ("Only matters at scale.", "M3")
    assert Activity.objects.filter(verb="deferral_requested", actor=tech_lead).count() == 1
    told = Notification.objects.get(kind=Notification.Kind.DEFERRAL_REQUESTED)
    assert told.recipient == principal
    assert "U-1" in told.text and told.link == reverse("planning:approvals")


def test_asking_for_a_deferral_leaves_the_unknown_unsettled(deferral, unknown):
    assert status_of(unknown) == Unknown.Status.OPEN


@pytest.fixture
def other_squad_lead(squad):
    user = UserFactory(username="tara")
    MembershipFactory(squad=squad, user=user, role=Membership.Role.TECH_LEAD)
    return user


@pytest.mark.parametrize(
    "who", ["engineer", "product", "principal", "outsider", "other_squad_lead"]
)
def test_only_the_milestone_tech_lead_asks_for_a_deferral(unknown, request, who):
    with pytest.raises(PermissionDenied):
        ask(request.getfixturevalue(who), unknown)

    assert not DeferralRequest.objects.exists()


def test_an_engineer_asking_through_the_page_gets_403(client_for, unknown, engineer):
    response = client_for(engineer).post(
        unknown_url("deferral-request", unknown), {"reason": "Later.", "defer_until": "M3"}
    )

    assert response.status_code == 403
    assert not DeferralRequest.objects.exists()
    assert_forbidden_page(response)


@pytest.mark.parametrize(
    ("reason", "defer_until", "missing"),
    [
        ("", "M3", {"reason"}),
        ("Later.", "  ", {"defer_until"}),
        (" ", "", {"reason", "defer_until"}),
    ],
)
def test_a_deferral_needs_a_reason_and_an_until(unknown, tech_lead, reason, defer_until, missing):
    with pytest.raises(ValidationError) as refusal:
        ask(tech_lead, unknown, reason=reason, defer_until=defer_until)

    assert set(refusal.value.error_dict) == missing
    assert not DeferralRequest.objects.exists()


def test_a_resolved_unknown_cannot_be_deferred(unknown, tech_lead, engineer):
    services.resolve_unknown(engineer, unknown, "Luna 7.")
    unknown.refresh_from_db()

    with pytest.raises(ValidationError):
        ask(tech_lead, unknown)

    assert not DeferralRequest.objects.exists()


def test_a_deferred_unknown_cannot_be_deferred_again(deferral, unknown, tech_lead, principal):
    services.decide_deferral(principal, deferral, decision="approve")
    unknown.refresh_from_db()

    with pytest.raises(ValidationError):
        ask(tech_lead, unknown)

    assert DeferralRequest.objects.count() == 1


def test_no_deferral_without_a_principal_engineer_to_decide_it(unknown, project, tech_lead):
    project.principal_engineer = None
    project.save()
    unknown.milestone.project.principal_engineer = None

    with pytest.raises(ValidationError) as refusal:
        ask(tech_lead, unknown)

    assert "principal engineer" in str(refusal.value)
    assert not DeferralRequest.objects.exists()


def test_a_second_deferral_while_one_is_pending_is_a_conflict(deferral, unknown, tech_lead):
    with pytest.raises(DeferralConflict):
        ask(tech_lead, unknown, reason="Again.", defer_until="M4")

    assert DeferralRequest.objects.count() == 1


def test_a_second_deferral_through_the_page_answers_409(client_for, deferral, unknown, tech_lead):
    response = client_for(tech_lead).post(
        unknown_url("deferral-request", unknown), {"reason": "Again.", "defer_until": "M4"}
    )

    assert response.status_code == 409
    assert "Waiting for" in response.content.decode()
    assert DeferralRequest.objects.count() == 1


def test_a_second_deferral_through_the_page_says_why_it_was_refused(
    client_for, deferral, unknown, tech_lead
):
    response = client_for(tech_lead).post(
        unknown_url("deferral-request", unknown), {"reason": "Again.", "defer_until": "M4"}
    )

    assert response.status_code == 409
    assert "U-1 already has a deferral waiting for a decision." in response.content.decode()
    assert list(DeferralRequest.objects.values_list("pk", flat=True)) == [deferral.pk]


def test_the_tech_lead_asks_through_the_page(client_for, unknown, tech_lead):
    response = client_for(tech_lead).post(
        unknown_url("deferral-request", unknown), {"reason": "Later.", "defer_until": "M3"}
    )

    assert response.status_code == 302
    assert response["Location"] == unknown.get_absolute_url()
    asked = DeferralRequest.objects.get(unknown=unknown)
    assert (asked.status, asked.reason, asked.defer_until, asked.requested_by) == (
        "pending",
        "Later.",
        "M3",
        tech_lead,
    )
    page = client_for(tech_lead).get(unknown.get_absolute_url()).content.decode()
    assert "deferral pending" in page


def test_the_database_allows_one_pending_deferral_per_unknown(deferral, unknown, tech_lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        DeferralRequest.objects.create(
            unknown=unknown, requested_by=tech_lead, reason="Again.", defer_until="M4"
        )

    assert DeferralRequest.objects.count() == 1


def test_after_a_rejection_a_new_deferral_may_be_asked(deferral, unknown, tech_lead, principal):
    services.decide_deferral(principal, deferral, decision="reject", note="Needed now.")

    again = ask(tech_lead, unknown, reason="Vendor slipped.", defer_until="M4")

    assert again.status == "pending"
    assert DeferralRequest.objects.count() == 2


# decide_deferral -------------------------------------------------------------------------


def test_approval_defers_the_unknown_and_leaves_an_activity(deferral, unknown, principal):
    decided = services.decide_deferral(principal, deferral, decision="approve")

    assert (decided.status, decided.decided_by) == ("approved", principal)
    assert decided.decided_at is not None
    assert status_of(unknown) == Unknown.Status.DEFERRED
    activity = Activity.objects.get(verb="deferral_approved")
    assert activity.actor == principal
    # The note goes with it, whole, for the decision log.
    assert activity.data == {"unknown": unknown.pk, "deferral": deferral.pk, "note": ""}


def test_a_decision_is_sent_to_the_tech_lead_and_the_owner(deferral, principal):
    services.decide_deferral(principal, deferral, decision="approve")

    told = Notification.objects.filter(kind=Notification.Kind.DEFERRAL_DECIDED)
    assert sorted(told.values_list("recipient__username", flat=True)) == ["eli", "tess"]
    assert all("approved" in n.text for n in told)


@pytest.mark.parametrize("note", ["", "   "])
def test_a_rejection_needs_a_note(deferral, unknown, principal, note):
    with pytest.raises(ValidationError) as refusal:
        services.decide_deferral(principal, deferral, decision="reject", note=note)

    assert "note" in refusal.value.error_dict
    deferral.refresh_from_db()
    assert deferral.status == "pending"


def test_a_rejection_leaves_the_unknown_as_it_was(milestone, engineer, tech_lead, principal):
    investigating = services.add_unknown(engineer, milestone, title="Which bank?", owner=engineer)
    investigating = services.update_unknown(engineer, investigating, status="investigating")
    deferral = ask(tech_lead, investigating)

    decided = services.decide_deferral(
        principal, deferral, decision="reject", note="PCI needs it now."
    )

    assert (decided.status, decided.decision_note) == ("rejected", "PCI needs it now.")
    assert status_of(investigating) == Unknown.Status.INVESTIGATING
    assert Activity.objects.filter(verb="deferral_rejected").count() == 1


def test_the_rejection_note_shows_on_the_unknown(
    client_for, deferral, unknown, principal, engineer
):
    services.decide_deferral(principal, deferral, decision="reject", note="PCI needs it now.")

    page = client_for(engineer).get(unknown.get_absolute_url()).content.decode()

    assert "Deferral rejected" in page
    assert "PCI needs it now." in page
    assert "deferral pending" not in page


def test_the_requester_cannot_decide_even_as_the_principal_engineer(squad, tech_lead, engineer):
    own = ProjectFactory(
        squad=squad, slug="ledger", tech_lead=tech_lead, principal_engineer=tech_lead
    )
    milestone = services.create_milestone(tech_lead, own, title="Ledger")
    unknown = services.add_unknown(engineer, milestone, title="Which bank?", owner=engineer)
    deferral = ask(tech_lead, unknown)

    with pytest.raises(PermissionDenied):
        services.decide_deferral(tech_lead, deferral, decision="approve")

    deferral.refresh_from_db()
    assert deferral.status == "pending"
    assert status_of(unknown) == Unknown.Status.OPEN


@pytest.mark.parametrize("who", ["engineer", "tech_lead", "outsider", "guest"])
def test_nobody_but_the_principal_engineer_decides(deferral, unknown, request, who):
    with pytest.raises(PermissionDenied):
        services.decide_deferral(request.getfixturevalue(who), deferral, decision="approve")

    deferral.refresh_from_db()
    assert deferral.status == "pending"
    assert status_of(unknown) == Unknown.Status.OPEN


@pytest.mark.parametrize(
    "form", [{"decision": "approve"}, {"decision": "reject", "note": "No."}, {}]
)
@pytest.mark.parametrize(
    ("who", "status"), [("engineer", 403), ("tech_lead", 403), ("outsider", 404)]
)
def test_deciding_through_the_page_is_refused_to_everyone_but_the_principal(
    client_for, deferral, unknown, request, who, status, form
):
    response = client_for(request.getfixturevalue(who)).post(decide_url(deferral), form)

    assert response.status_code == status
    deferral.refresh_from_db()
    assert deferral.status == "pending"
    assert status_of(unknown) == Unknown.Status.OPEN
    if status == 404:
        assert_not_found_page(response, unknown.title, deferral.reason)
    else:
        assert_forbidden_page(response)


def test_the_principal_approves_through_the_page(client_for, deferral, unknown, principal):
    response = client_for(principal).post(decide_url(deferral), {"decision": "approve"})

    assert response.status_code == 302
    assert response["Location"] == reverse("planning:approvals")
    deferral.refresh_from_db()
    assert deferral.status == "approved"
    assert status_of(unknown) == Unknown.Status.DEFERRED


def test_the_principal_rejecting_without_a_note_on_the_page_sees_the_error(
    client_for, deferral, principal
):
    response = client_for(principal).post(decide_url(deferral), {"decision": "reject"})

    assert response.status_code == 400
    assert "Say why the deferral is rejected." in response.content.decode()
    deferral.refresh_from_db()
    assert deferral.status == "pending"


def test_deciding_twice_is_a_conflict(deferral, unknown, principal):
    services.decide_deferral(principal, deferral, decision="approve")

    with pytest.raises(DeferralConflict):
        services.decide_deferral(principal, deferral, decision="reject", note="Changed my mind.")

    deferral.refresh_from_db()
    assert deferral.status == "approved"
    assert status_of(unknown) == Unknown.Status.DEFERRED


def test_deciding_twice_through_the_page_changes_nothing(client_for, deferral, unknown, principal):
    client = client_for(principal)
    client.post(decide_url(deferral), {"decision": "approve"})

    response = client.post(
        decide_url(deferral), {"decision": "reject", "note": "Oops."}, follow=True
    )

    assert "already approved" in response.content.decode()
    deferral.refresh_from_db()
    assert deferral.status == "approved"


# The approvals queue and the navigation -------------------------------------------------


def deferral_elsewhere(principal_engineer, slug: str, title: str) -> DeferralRequest:
    """A pending deferral in a project of another squad, with its own tech lead."""
    squad = SquadFactory(slug=f"{slug}-squad")
    lead = UserFactory.create(username=f"{slug}-lead")
    MembershipFactory(squad=squad, user=lead, role=Membership.Role.TECH_LEAD)
    project = ProjectFactory.create(
        squad=squad, slug=slug, tech_lead=lead, principal_engineer=principal_engineer
    )
    milestone = services.create_milestone(lead, project, title=f"{title} milestone")
    unknown = services.add_unknown(lead, milestone, title=title, owner=lead)
    return ask(lead, unknown)


def test_approvals_lists_pending_deferrals_of_every_project_where_i_am_principal(
    client_for, deferral, principal
):
    deferral_elsewhere(principal, "ledger", "Which ledger?")
    deferral_elsewhere(UserFactory(username="pat"), "fraud", "Which model?")

    response = client_for(principal).get(reverse("planning:approvals"))

    assert response.status_code == 200
    titles = [d.unknown.title for d in response.context["pending"]]
    assert titles == ["Which HSM?", "Which ledger?"]
    assert "Which model?" not in response.content.decode()


def test_approvals_lists_a_blocker_before_an_older_request_of_lower_priority(
    client_for, milestone, tech_lead, engineer, principal
):
    low = ask(
        tech_lead, services.add_unknown(tech_lead, milestone, title="Card art", priority="low")
    )
    blocker = ask(
        tech_lead,
        services.add_unknown(tech_lead, milestone, title="Which HSM?", priority="blocker"),
    )

    response = client_for(principal).get(reverse("planning:approvals"))

    assert [d.pk for d in response.context["pending"]] == [blocker.pk, low.pk]


def test_every_approval_card_has_ids_of_its_own(client_for, deferral, principal):
    other = deferral_elsewhere(principal, "ledger", "Which ledger?")

    page = client_for(principal).get(reverse("planning:approvals")).content.decode()

    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for card in (deferral, other):
        # The label "Approve" of each card names (and checks) that card's own radio.
        assert f'<label for="deferral-{card.pk}-decision_0"><input type="radio"' in page
        assert f'id="deferral-{card.pk}-note"' in page


def test_a_refused_decision_keeps_its_card_ids_and_what_was_typed(client_for, deferral, principal):
    response = client_for(principal).post(
        reverse("planning:deferral-decide", args=[deferral.pk]), {"decision": "reject"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Say why the deferral is rejected." in page
    assert f'value="reject" required id="deferral-{deferral.pk}-decision_1" checked' in page


def test_approvals_leaves_out_decided_deferrals_from_the_queue(client_for, deferral, principal):
    services.decide_deferral(principal, deferral, decision="approve")

    response = client_for(principal).get(reverse("planning:approvals"))

    assert response.context["pending"] == []
    assert [d.pk for d in response.context["decided"]] == [deferral.pk]


def test_a_tech_lead_sees_no_deferral_to_decide_in_approvals(client_for, deferral, tech_lead):
    response = client_for(tech_lead).get(reverse("planning:approvals"))

    assert response.context["pending"] == []


def test_the_navigation_shows_how_many_deferrals_wait_for_me(client_for, deferral, principal):
    deferral_elsewhere(principal, "ledger", "Which ledger?")
    deferral_elsewhere(UserFactory(username="pat"), "fraud", "Which model?")

    page = client_for(principal).get(reverse("planning:inbox")).content.decode()

    assert 'aria-label="2 waiting"' in page


def test_the_approvals_count_drops_once_decided(client_for, deferral, principal):
    services.decide_deferral(principal, deferral, decision="approve")

    page = client_for(principal).get(reverse("planning:inbox")).content.decode()

    assert "Approvals" in page
    assert re.search(r'aria-label="\d+ waiting"', page) is None
