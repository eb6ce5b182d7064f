"""The shortcuts taken for speed give the same answers as the long way round.

The API's unknown representation is built by hand, the milestone lookup
brings the viewer's role along, the owner choices come from one plain query,
and the unknowns table's rows are cached: each is checked against what the
generic path, or a fresh page, says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from api.serializers.milestones import UnknownSerializer
from planning import services
from planning.forms import UnknownAddForm
from planning.models import DeferralRequest, Unknown
from squads import access
from squads.access import Action
from tests.factories import VerdictFactory
from tests.helpers import unknown_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


def _generic(unknown: Unknown) -> dict:
    """What DRF's ModelSerializer makes of the unknown, field by field."""
    return serializers.ModelSerializer.to_representation(UnknownSerializer(), unknown)


def _annotated(milestone) -> list[Unknown]:
    return list(
        milestone.unknowns.annotate(
            deferral_pending=Exists(
                DeferralRequest.objects.filter(
                    unknown=OuterRef("pk"), status=DeferralRequest.Status.PENDING
                )
            )
        ).order_by("number")
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Los_Angeles"])
def test_the_hand_built_unknown_equals_the_generic_one(milestone, tech_lead, engineer, zone):
    services.add_unknown(tech_lead, milestone, title="Bare")
    full = services.add_unknown(
        tech_lead,
        milestone,
        title="Which HSM?",
        priority=Unknown.Priority.BLOCKER,
        owner=engineer,
        due_on=date(2031, 2, 3),
        vendor="Vault Inc.",
        ticket_url="https://tickets.example.com/T-1",
    )
    services.update_unknown(
        tech_lead, full, vendor_contacted_on=date(2031, 1, 5), detail="**Why** it matters."
    )
    services.request_deferral(tech_lead, full, reason="Vendor is slow.", defer_until="M3")

    with timezone.override(zone):
        unknowns = _annotated(milestone)
        assert [u.deferral_pending for u in unknowns] == [False, True]
        for unknown in unknowns:
            assert UnknownSerializer(unknown).data == _generic(unknown)


def test_the_api_list_gives_the_generic_representation(client_for, milestone, tech_lead, engineer):
    services.add_unknown(tech_lead, milestone, title="One", owner=engineer, due_on=date(2031, 1, 1))
    services.add_unknown(tech_lead, milestone, title="Two")

    answer = client_for(engineer).get(f"/api/v1/milestones/{milestone.pk}/unknowns/")

    assert answer.status_code == 200
    expected = {u.pk: _generic(u) for u in _annotated(milestone)}
    assert {row["id"]: row for row in answer.json()["results"]} == expected


def _every_kind_of_unknown(milestone, tech_lead, engineer, principal) -> None:
    """Unknowns of every status and priority, with and without owner, vendor, dates,
    a deferral waiting or decided, and times with and without microseconds."""
    add = partial(services.add_unknown, tech_lead, milestone)
    add(title="Bare")
    for number, priority in enumerate(Unknown.Priority.values):
        add(
            title=f"Which HSM, «{priority}»?",
            priority=priority,
            owner=engineer if number % 2 else None,
            due_on=date(2031, 2, 3 + number) if number % 2 == 0 else None,
            vendor="Vault Inc." if number < 2 else "",
            ticket_url="https://tickets.example.com/T-1" if number == 1 else "",
        )
    investigating = add(title="Retry policy?", priority=Unknown.Priority.HIGH)
    services.update_unknown(tech_lead, investigating, status=Unknown.Status.INVESTIGATING)
    waiting = add(
        title="Card art?", vendor="Print Co.", detail="**Why** it matters.\n\n\u2013 \u00fc"
    )
    services.update_unknown(
        tech_lead,
        waiting,
        status=Unknown.Status.WAITING_ON_VENDOR,
        vendor_contacted_on=date(2031, 1, 5),
    )
    services.resolve_unknown(tech_lead, add(title="Token format?"), "Network tokens.")
    pending = add(title="Key rotation?", priority=Unknown.Priority.BLOCKER)
    services.request_deferral(tech_lead, pending, reason="Vendor is slow.", defer_until="M3")
    for decision in ("approve", "reject"):
        unknown = add(title=f"Later, {decision}?", priority=Unknown.Priority.LOW)
        deferral = services.request_deferral(
            tech_lead, unknown, reason="After launch.", defer_until="2031-06-01"
        )
        note = "Not now." if decision == "reject" else ""
        services.decide_deferral(principal, deferral, decision=decision, note=note)
    # A condition of an approval: an unknown that names the verdict it came from.
    verdict = VerdictFactory.create(review__milestone=milestone, reviewer=principal)
    condition = add(title="Load-test refunds?", priority=Unknown.Priority.HIGH)
    Unknown.objects.filter(pk=condition.pk).update(from_verdict=verdict)
    # Times to the second, and with microseconds that begin with zeros.
    first, second = milestone.unknowns.order_by("number")[:2]
    Unknown.objects.filter(pk=first.pk).update(
        created_at=datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC),
        last_activity_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    Unknown.objects.filter(pk=second.pk).update(
        created_at=datetime(2031, 1, 1, 0, 0, 0, 120, tzinfo=UTC)
    )


def _by_priority(milestone) -> list[dict]:
    ranked = sorted(_annotated(milestone), key=lambda u: (PRIORITIES.index(u.priority), u.number))
    return [_generic(u) for u in ranked]


PRIORITIES = list(Unknown.Priority.values)


@pytest.mark.postgres
def test_the_api_lists_unknowns_from_sql_as_the_serializer_writes_them(
    client_for, milestone, tech_lead, engineer, principal
):
    _every_kind_of_unknown(milestone, tech_lead, engineer, principal)
    client = client_for(engineer)
    url = f"/api/v1/milestones/{milestone.pk}/unknowns/?page_size=200"

    with CaptureQueriesContext(connection) as queries:
        fast = client.get(url)
    # A filter that keeps every row takes the way through django-filter and the serializer.
    plain = client.get(url + "&status=")

    assert fast.status_code == 200
    assert not any("COUNT(" in query["sql"] for query in queries)  # the SQL way, one query
    statuses = {row["status"] for row in fast.json()["results"]}
    assert statuses == set(Unknown.Status.values)
    assert fast.json() == {
        "count": 12,
        "next": None,
        "previous": None,
        "results": _by_priority(milestone),
    }
    assert fast.content == plain.content  # byte for byte


@pytest.mark.postgres
def test_the_api_list_from_sql_pages_as_the_serializer_way_does(
    client_for, milestone, tech_lead, engineer, principal
):
    _every_kind_of_unknown(milestone, tech_lead, engineer, principal)
    client = client_for(engineer)
    url = f"/api/v1/milestones/{milestone.pk}/unknowns/?page_size=4"

    for page in ("1", "2", "3", "last"):
        fast = client.get(f"{url}&page={page}").json()
        plain = client.get(f"{url}&page={page}&status=").json()
        assert fast["count"] == plain["count"] == 12
        assert fast["results"] == plain["results"]
        for link in ("next", "previous"):
            assert (fast[link] or "").replace("&status=", "") == (plain[link] or "").replace(
                "&status=", ""
            )
    assert client.get(f"{url}&page=3").json()["results"] == _by_priority(milestone)[8:]
    for page in ("4", "0", "x", "99999999999999999999"):
        fast_answer = client.get(f"{url}&page={page}")
        plain_answer = client.get(f"{url}&page={page}&status=")
        assert fast_answer.status_code == plain_answer.status_code == 404
        assert fast_answer.json() == plain_answer.json()


@pytest.mark.postgres
def test_the_api_list_of_no_unknowns_from_sql(client_for, milestone, engineer):
    url = f"/api/v1/milestones/{milestone.pk}/unknowns/"
    assert client_for(engineer).get(url).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert client_for(engineer).get(url + "?page=2").status_code == 404


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Los_Angeles"])
def test_the_api_list_in_another_time_zone_is_the_serializers(
    client_for, milestone, tech_lead, engineer, principal, zone
):
    _every_kind_of_unknown(milestone, tech_lead, engineer, principal)
    with timezone.override(zone):
        answer = client_for(engineer).get(
            f"/api/v1/milestones/{milestone.pk}/unknowns/?page_size=200"
        )
        assert answer.json()["results"] == _by_priority(milestone)


# The milestone lookup --------------------------------------------------------


def test_the_milestone_lookup_remembers_the_viewers_role(
    milestone, engineer, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = access.get_milestone_by_id_for(engineer, milestone.pk)
        assert access.role_in(engineer, found.project.squad) == "engineer"
        assert access.can(engineer, Action.EDIT_UNKNOWN, found)


def test_the_milestone_lookup_keeps_outsiders_and_uninvited_guests_out(
    milestone, outsider, guest, principal, tech_lead
):
    for person in (outsider, guest):
        with pytest.raises(Http404):
            access.get_milestone_by_id_for(person, milestone.pk, with_guest=True)
    assert access.get_milestone_by_id_for(principal, milestone.pk).pk == milestone.pk
    with pytest.raises(Http404):
        access.get_milestone_by_id_for(tech_lead, milestone.pk + 1000)


@pytest.mark.parametrize(
    "person", ["tech_lead", "engineer", "product", "principal", "guest", "outsider"]
)
def test_the_light_milestone_lookup_lets_in_whom_the_full_one_does(
    request, milestone, tech_lead, guest, person
):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())
    services.invite_guest(tech_lead, review, guest)
    user = request.getfixturevalue(person)

    def seen(lookup, pk: int) -> int | None:
        try:
            found = lookup(user, pk)
        except Http404:
            return None
        return found if isinstance(found, int) else found.pk

    for pk in (milestone.pk, milestone.pk + 1000, 0, -1, 2**63):
        full = seen(access.get_milestone_by_id_for, pk)
        assert seen(access.get_milestone_id_for, pk) == full, (person, pk)
    sees = person not in ("guest", "outsider")
    assert seen(access.get_milestone_id_for, milestone.pk) == (milestone.pk if sees else None)


def test_an_invited_guest_reaches_the_milestone_only_as_a_guest(milestone, tech_lead, guest):
    review = services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())
    services.invite_guest(tech_lead, review, guest)

    assert access.get_milestone_by_id_for(guest, milestone.pk, with_guest=True).pk == milestone.pk
    with pytest.raises(Http404):
        access.get_milestone_by_id_for(guest, milestone.pk)


# Owner choices ---------------------------------------------------------------


def test_owner_choices_are_the_squad_members_from_one_query(
    milestone, tech_lead, engineer, product
):
    form = UnknownAddForm(milestone=milestone)
    with CaptureQueriesContext(connection) as queries:
        html = str(form["owner"])  # as the page renders it
    assert len(queries) == 1
    assert "DECLARE" not in queries[0]["sql"]  # no server-side cursor
    choices = list(form.fields["owner"].choices)
    assert choices[0] == ("", "No owner yet")
    assert {label for _, label in choices[1:]} == {
        p.display_name for p in (tech_lead, engineer, product)
    }
    assert engineer.display_name in html


def test_the_add_form_still_takes_only_a_squad_member_as_owner(milestone, engineer, outsider):
    data = {"title": "Which HSM?", "priority": "normal"}
    assert UnknownAddForm({**data, "owner": engineer.pk}, milestone=milestone).is_valid()
    form = UnknownAddForm({**data, "owner": outsider.pk}, milestone=milestone)
    assert not form.is_valid() and "owner" in form.errors


# The unknowns table's cached rows ----------------------------------------------


def _rows(client, milestone) -> str:
    page = client.get(milestone.get_absolute_url()).content.decode()
    return page.split('id="unknowns"', 1)[1]


# Each change commits, as each request does: the page around the rows is cached under
# the transactions that wrote its rows (planning.state).
@pytest.mark.django_db(transaction=True)
def test_the_cached_rows_show_every_change(client_for, milestone, tech_lead, engineer):
    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    client = client_for(engineer)
    assert "Which HSM?" in _rows(client, milestone)

    services.update_unknown(tech_lead, unknown, title="Which HSM vendor?", owner=engineer)
    rows = _rows(client, milestone)
    assert "Which HSM vendor?" in rows and engineer.display_name in rows

    services.request_deferral(tech_lead, unknown, reason="Vendor is slow.", defer_until="M3")
    assert "deferral pending" in _rows(client, milestone)

    engineer.full_name = "Erin Renamed"
    engineer.save()
    assert "Erin Renamed" in _rows(client, milestone)

    services.add_unknown(tech_lead, milestone, title="Retry policy?")
    assert "Retry policy?" in _rows(client, milestone)


def test_the_cached_rows_follow_what_the_viewer_may_do(
    client_for, milestone, tech_lead, engineer, principal
):
    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    edit = unknown_url("unknown-edit", unknown)

    assert edit in _rows(client_for(engineer), milestone)
    # The principal engineer sees the milestone but does not edit its unknowns.
    assert not access.can(principal, Action.EDIT_UNKNOWN, milestone)
    rows = _rows(client_for(principal), milestone)
    assert "Which HSM?" in rows and edit not in rows
