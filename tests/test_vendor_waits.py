"""Unknowns that wait on a vendor: named when added, and a contact recorded in one click."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from planning import services
from planning.models import Activity, Milestone, Unknown
from planning.workflow import Phase
from tests.helpers import assert_forbidden_page, put_in_phase, unknown_url

pytestmark = pytest.mark.django_db

TODAY = date(2030, 4, 2)


@pytest.fixture
def milestone(project, tech_lead) -> Milestone:
    return put_in_phase(
        services.create_milestone(tech_lead, project, title="Tokenise cards"), Phase.UNKNOWNS
    )


@pytest.fixture
def blocker(milestone, tech_lead, engineer) -> Unknown:
    unknown = services.add_unknown(
        tech_lead, milestone, title="Amex tokens?", priority="blocker", owner=engineer
    )
    services.update_unknown(engineer, unknown, vendor="VaultCo")
    return Unknown.objects.get(pk=unknown.pk)


def fresh(unknown: Unknown) -> Unknown:
    return Unknown.objects.get(pk=unknown.pk)


@time_machine.travel("2030-04-02 10:00:00+00:00", tick=False)
def test_an_unknown_added_with_a_vendor_waits_on_them_from_today(milestone, tech_lead, engineer):
    unknown = services.add_unknown(
        tech_lead, milestone, title="Amex tokens?", owner=engineer, vendor=" VaultCo "
    )

    saved = fresh(unknown)
    assert (saved.status, saved.vendor, saved.vendor_contacted_on) == (
        "waiting_on_vendor",
        "VaultCo",
        TODAY,
    )
    summary = Activity.objects.filter(verb="unknown_added").latest("id").summary
    assert summary.endswith("(normal), waiting on VaultCo since 2 Apr.")


def test_an_unknown_added_without_a_vendor_is_open(milestone, tech_lead):
    unknown = services.add_unknown(tech_lead, milestone, title="Retry budget")

    assert (fresh(unknown).status, fresh(unknown).vendor_contacted_on) == ("open", None)


def test_the_add_form_with_a_vendor_shows_the_wait_in_the_row(client_for, milestone, engineer):
    client = client_for(engineer)
    url = milestone.get_absolute_url() + "unknowns/"

    client.post(url, {"title": "Amex tokens?", "priority": "high", "vendor": "VaultCo"})

    page = client.get(url).content.decode()
    assert "Waiting on VaultCo, contacted" in page
    assert "Record vendor contact" not in page


@time_machine.travel("2030-04-02 10:00:00+00:00", tick=False)
def test_recording_the_contact_lets_a_blocker_wait_without_holding_the_milestone(blocker, engineer):
    assert services.readiness(blocker.milestone)["unmet"]

    services.record_vendor_contact(engineer, blocker)

    saved = fresh(blocker)
    assert (saved.status, saved.vendor_contacted_on) == ("waiting_on_vendor", TODAY)
    assert services.readiness(saved.milestone)["unmet"] == []
    activity = Activity.objects.latest("id")
    assert activity.summary.endswith(f"contacted VaultCo about {blocker.key} on 2 Apr.")


def test_a_contact_needs_a_vendor_and_an_unsettled_unknown(milestone, tech_lead, engineer):
    nameless = services.add_unknown(tech_lead, milestone, title="Who rotates keys?")
    with pytest.raises(ValidationError) as refusal:
        services.record_vendor_contact(engineer, nameless)
    assert "Say which vendor" in str(refusal.value)

    resolved = services.add_unknown(tech_lead, milestone, title="Scope?", vendor="VaultCo")
    services.resolve_unknown(engineer, resolved, "Out of scope.")
    with pytest.raises(ValidationError):
        services.record_vendor_contact(engineer, resolved)


def test_only_squad_members_record_a_contact(blocker, principal):
    with pytest.raises(PermissionDenied):
        services.record_vendor_contact(principal, blocker)


def test_the_row_offers_the_contact_and_htmx_swaps_the_row(client_for, blocker, engineer):
    client = client_for(engineer)
    page = client.get(blocker.milestone.get_absolute_url()).content.decode()
    assert "Vendor: VaultCo, not contacted yet" in page
    assert "Record vendor contact" in page

    response = client.post(unknown_url("unknown-vendor-contact", blocker), HTTP_HX_REQUEST="true")

    row = response.content.decode()
    assert response.status_code == 200
    assert row.startswith(f'<tr id="unknown-{blocker.number}"')
    assert "Waiting on VaultCo, contacted" in row
    assert "Record vendor contact" not in row
    assert "unknownsChanged" in response["HX-Trigger"]


def test_the_contact_works_without_javascript_from_the_unknown_page(client_for, blocker, engineer):
    client = client_for(engineer)
    page = client.get(blocker.get_absolute_url()).content.decode()
    assert 'id="vendor-contact"' in page

    response = client.post(unknown_url("unknown-vendor-contact", blocker), follow=True)

    assert response.redirect_chain[-1][0] == blocker.get_absolute_url()
    assert f"{blocker.key}: contact with VaultCo recorded for today." in response.content.decode()
    assert fresh(blocker).status == "waiting_on_vendor"


def test_the_principal_engineer_may_not_record_a_contact(client_for, blocker, principal):
    response = client_for(principal).post(unknown_url("unknown-vendor-contact", blocker))

    assert_forbidden_page(response)
    assert fresh(blocker).vendor_contacted_on is None
