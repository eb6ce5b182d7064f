"""Unknowns: the services' rules, the guards that read them, then the pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from notifications.models import Notification
from planning import services
from planning.exceptions import GuardRefused
from planning.models import Activity, Milestone, Unknown
from planning.workflow import Phase
from tests.helpers import (
    assert_forbidden_page,
    assert_not_found_page,
    put_in_phase,
    unknown_url,
)
from tests.test_milestones import MILESTONE_PAGE_BUDGET as EMPTY_MILESTONE_PAGE_BUDGET

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)

# The same queries however many unknowns there are. Unknowns page: session,
# user, milestone (with project, squad, principal, lead), the unknowns with
# their owners, their pending deferrals, my role, the squad's members (filter
# and add form), the navigation counts.
UNKNOWNS_PAGE_BUDGET = 9
# The milestone page's budget without unknowns, plus the one query for the
# pending deferrals of the unknowns on it.
MILESTONE_PAGE_BUDGET = EMPTY_MILESTONE_PAGE_BUDGET + 1


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens."
    )


def add(actor, milestone, title: str = "Which HSM?", **fields) -> Unknown:
    return services.add_unknown(actor, milestone, title=title, **fields)


def fresh(unknown: Unknown) -> Unknown:
    found = Unknown.objects.select_related("owner", "milestone__project__squad").get(pk=unknown.pk)
    return found


def list_url(milestone: Milestone, **query) -> str:
    url = reverse("planning:unknown-list", kwargs=milestone.url_kwargs())
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def keys_on_page(response) -> list[str]:
    return [u.key for u in response.context["unknowns"]]


def unmet_codes(refusal) -> list[str]:
    return [item.code for item in refusal.value.unmet]


def approve_deferral(unknown, tech_lead, principal):
    deferral = services.request_deferral(
        tech_lead, unknown, reason="Only matters at scale.", defer_until="M3"
    )
    return services.decide_deferral(principal, deferral, decision="approve")


# add_unknown -------------------------------------------------------------------------


def test_add_unknown_numbers_unknowns_u1_u2_within_each_milestone(
    milestone, project, tech_lead, engineer
):
    other = services.create_milestone(tech_lead, project, title="Refunds")

    first = add(engineer, milestone, "Which HSM?")
    second = add(engineer, milestone, "Which tokeniser?")
    elsewhere = add(engineer, other, "Which bank?")

    assert (first.key, second.key, elsewhere.key) == ("U-1", "U-2", "U-1")


def test_add_unknown_writes_an_activity_on_the_milestone(milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", priority=Unknown.Priority.BLOCKER)

    activity = Activity.objects.get(milestone=milestone, verb="unknown_added")
    assert activity.actor == engineer
    assert "U-1" in activity.summary and "Which HSM?" in activity.summary
    assert activity.data == {"unknown": unknown.pk}


def test_add_unknown_tells_the_owner_when_someone_else_assigns_it(milestone, tech_lead, engineer):
    unknown = add(tech_lead, milestone, "Which HSM?", owner=engineer)

    notification = Notification.objects.get(recipient=engineer)
    assert notification.kind == Notification.Kind.UNKNOWN_ASSIGNED
    assert "U-1" in notification.text
    assert notification.link == unknown.get_absolute_url()


def test_add_unknown_tells_nobody_when_you_take_it_yourself(milestone, engineer):
    add(engineer, milestone, "Which HSM?", owner=engineer)

    assert not Notification.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "principal"])
def test_the_owner_of_an_unknown_must_be_a_squad_member(milestone, engineer, request, who):
    stranger = request.getfixturevalue(who)

    with pytest.raises(ValidationError) as refusal:
        add(engineer, milestone, "Which HSM?", owner=stranger)

    assert "owner" in refusal.value.error_dict
    assert not Unknown.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "principal", "guest"])
def test_only_squad_members_add_unknowns(milestone, request, who):
    with pytest.raises(PermissionDenied):
        add(request.getfixturevalue(who), milestone, "Which HSM?")

    assert not Unknown.objects.exists()


@pytest.mark.parametrize("who", ["tech_lead", "engineer", "product"])
def test_every_squad_member_adds_unknowns(milestone, request, who):
    unknown = add(request.getfixturevalue(who), milestone, "Which HSM?")

    assert unknown.pk is not None


# update_unknown, resolve_unknown, comment_on_unknown -------------------------------


@pytest.mark.parametrize("status", [Unknown.Status.RESOLVED, Unknown.Status.DEFERRED])
def test_update_unknown_refuses_to_set_resolved_or_deferred(milestone, engineer, status):
    unknown = add(engineer, milestone)

    with pytest.raises(ValidationError) as refusal:
        services.update_unknown(engineer, unknown, status=status)

    assert "status" in refusal.value.error_dict
    assert fresh(unknown).status == Unknown.Status.OPEN


def test_waiting_on_a_vendor_needs_the_vendor_named(milestone, engineer):
    unknown = add(engineer, milestone)

    with pytest.raises(ValidationError) as refusal:
        services.update_unknown(engineer, unknown, status=Unknown.Status.WAITING_ON_VENDOR)

    assert "vendor" in refusal.value.error_dict
    assert fresh(unknown).status == Unknown.Status.OPEN


def test_waiting_on_a_named_vendor_is_saved(milestone, engineer):
    unknown = add(engineer, milestone)

    services.update_unknown(
        engineer, unknown, status=Unknown.Status.WAITING_ON_VENDOR, vendor="Thales"
    )

    assert (fresh(unknown).status, fresh(unknown).vendor) == ("waiting_on_vendor", "Thales")


def test_update_unknown_moves_last_activity_and_writes_an_activity(milestone, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        unknown = add(engineer, milestone)
        clock.shift(timedelta(hours=5))

        services.update_unknown(engineer, unknown, title="Which HSM vendor?")

    assert fresh(unknown).last_activity_at == T0 + timedelta(hours=5)
    changed = Activity.objects.get(milestone=milestone, verb="unknown_changed")
    assert changed.data["fields"] == ["title"]


def test_update_unknown_without_a_change_leaves_last_activity_alone(milestone, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        unknown = add(engineer, milestone)
        clock.shift(timedelta(hours=5))

        services.update_unknown(engineer, unknown, title=unknown.title)

    assert fresh(unknown).last_activity_at == T0
    assert not Activity.objects.filter(verb="unknown_changed").exists()


def test_update_unknown_tells_the_new_owner(milestone, tech_lead, engineer, product):
    unknown = add(tech_lead, milestone, owner=product)

    services.update_unknown(tech_lead, unknown, owner=engineer)

    assert list(
        Notification.objects.filter(kind=Notification.Kind.UNKNOWN_ASSIGNED).values_list(
            "recipient__username", flat=True
        )
    ) == ["eli", "pia"]


def test_update_unknown_refuses_an_owner_outside_the_squad(milestone, engineer, outsider):
    unknown = add(engineer, milestone, owner=engineer)

    with pytest.raises(ValidationError):
        services.update_unknown(engineer, unknown, owner=outsider)

    assert fresh(unknown).owner == engineer


def test_update_unknown_is_refused_to_the_principal_engineer(milestone, engineer, principal):
    unknown = add(engineer, milestone)

    with pytest.raises(PermissionDenied):
        services.update_unknown(principal, unknown, title="Hijacked")

    assert fresh(unknown).title == "Which HSM?"


@pytest.mark.parametrize("resolution", ["", "   \n"])
def test_resolving_needs_a_resolution(milestone, engineer, resolution):
    unknown = add(engineer, milestone)

    with pytest.raises(ValidationError) as refusal:
        services.resolve_unknown(engineer, unknown, resolution)

    assert "resolution" in refusal.value.error_dict
    assert fresh(unknown).status == Unknown.Status.OPEN


def test_resolving_stores_the_resolution_and_moves_last_activity(milestone, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        unknown = add(engineer, milestone)
        clock.shift(timedelta(days=2))

        services.resolve_unknown(engineer, unknown, "The Thales Luna 7.")

    resolved = fresh(unknown)
    assert (resolved.status, resolved.resolution) == ("resolved", "The Thales Luna 7.")
    assert resolved.last_activity_at == T0 + timedelta(days=2)
    assert Activity.objects.filter(verb="unknown_resolved").count() == 1


def test_a_comment_moves_last_activity(milestone, engineer, principal):
    with time_machine.travel(T0, tick=False) as clock:
        unknown = add(engineer, milestone)
        clock.shift(timedelta(days=1, hours=3))

        comment = services.comment_on_unknown(principal, unknown, "Ask the PCI assessor.")

    assert comment.author == principal
    assert fresh(unknown).last_activity_at == T0 + timedelta(days=1, hours=3)


def test_an_empty_comment_is_refused(milestone, engineer):
    unknown = add(engineer, milestone)

    with pytest.raises(ValidationError):
        services.comment_on_unknown(engineer, unknown, "  ")

    assert not unknown.comments.exists()


def test_an_outsider_cannot_comment(milestone, engineer, outsider):
    unknown = add(engineer, milestone)

    with pytest.raises(PermissionDenied):
        services.comment_on_unknown(outsider, unknown, "Hello")


# The guards that read unknowns --------------------------------------------------------


@pytest.fixture
def in_unknowns(milestone):
    return put_in_phase(milestone, Phase.UNKNOWNS)


def advance(milestone, to=Phase.DESIGN_REVIEW):
    return services.advance_phase(milestone.tech_lead, milestone, to=to)


def test_an_unknown_without_owner_keeps_the_milestone_from_design_review(in_unknowns, engineer):
    add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="low")
    add(engineer, in_unknowns, "Which bank?", priority="low")

    with pytest.raises(GuardRefused) as refusal:
        advance(in_unknowns)

    assert unmet_codes(refusal) == ["unknown_without_owner:U-2"]
    assert put_in_phase(in_unknowns, Phase.UNKNOWNS).phase == Phase.UNKNOWNS


def test_an_open_blocker_keeps_the_milestone_from_design_review(in_unknowns, engineer):
    add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")

    with pytest.raises(GuardRefused) as refusal:
        advance(in_unknowns)

    assert unmet_codes(refusal) == ["blocker_open:U-1"]


def test_open_unknowns_below_blocker_do_not_stop_design_review(in_unknowns, engineer):
    for priority in ("high", "normal", "low"):
        add(engineer, in_unknowns, f"A {priority} one", owner=engineer, priority=priority)

    assert advance(in_unknowns).phase == Phase.DESIGN_REVIEW


def test_a_blocker_waiting_on_a_contacted_vendor_lets_the_milestone_move(in_unknowns, engineer):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    services.update_unknown(
        engineer,
        blocker,
        status=Unknown.Status.WAITING_ON_VENDOR,
        vendor="Thales",
        vendor_contacted_on=date(2030, 3, 1),
    )

    assert advance(in_unknowns).phase == Phase.DESIGN_REVIEW


def test_a_blocker_waiting_on_a_vendor_nobody_contacted_blocks(in_unknowns, engineer):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    services.update_unknown(
        engineer, blocker, status=Unknown.Status.WAITING_ON_VENDOR, vendor="Thales"
    )

    with pytest.raises(GuardRefused) as refusal:
        advance(in_unknowns)

    assert unmet_codes(refusal) == ["blocker_open:U-1"]


def test_a_resolved_blocker_lets_the_milestone_move(in_unknowns, engineer):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    services.resolve_unknown(engineer, blocker, "Luna 7.")

    assert advance(in_unknowns).phase == Phase.DESIGN_REVIEW


def test_a_blocker_deferred_with_approval_lets_the_milestone_move(
    in_unknowns, engineer, tech_lead, principal
):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    approve_deferral(blocker, tech_lead, principal)

    assert advance(in_unknowns).phase == Phase.DESIGN_REVIEW


def test_a_blocker_with_a_pending_deferral_still_blocks(
    in_unknowns, engineer, tech_lead, principal
):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    services.request_deferral(tech_lead, blocker, reason="Later.", defer_until="M3")

    with pytest.raises(GuardRefused) as refusal:
        advance(in_unknowns)

    assert unmet_codes(refusal) == ["blocker_open:U-1"]


def test_a_blocker_whose_deferral_was_rejected_still_blocks(
    in_unknowns, engineer, tech_lead, principal
):
    blocker = add(engineer, in_unknowns, "Which HSM?", owner=engineer, priority="blocker")
    deferral = services.request_deferral(tech_lead, blocker, reason="Later.", defer_until="M3")
    services.decide_deferral(principal, deferral, decision="reject", note="Needed for PCI.")

    with pytest.raises(GuardRefused) as refusal:
        advance(in_unknowns)

    assert unmet_codes(refusal) == ["blocker_open:U-1"]


@pytest.fixture
def in_breakout(milestone, tech_lead):
    """In task breakout with one unclaimed story: only the unknowns can hold it back."""
    services.add_story(tech_lead, milestone, title="Vault client")
    return put_in_phase(milestone, Phase.TASK_BREAKOUT)


def test_done_is_refused_while_any_unknown_is_unsettled(in_breakout, engineer, tech_lead):
    settled = add(engineer, in_breakout, "Settled", owner=engineer, priority="low")
    services.resolve_unknown(engineer, settled, "Yes.")
    add(engineer, in_breakout, "Still open", owner=engineer, priority="low")
    waiting = add(engineer, in_breakout, "Waiting", owner=engineer, priority="blocker")
    services.update_unknown(
        engineer,
        waiting,
        status=Unknown.Status.WAITING_ON_VENDOR,
        vendor="Thales",
        vendor_contacted_on=date(2030, 3, 1),
    )

    with pytest.raises(GuardRefused) as refusal:
        advance(in_breakout, Phase.DONE)

    assert unmet_codes(refusal) == ["unknown_unsettled:U-2", "unknown_unsettled:U-3"]


def test_done_is_refused_while_a_deferral_is_only_pending(
    in_breakout, engineer, tech_lead, principal
):
    unknown = add(engineer, in_breakout, "Later", owner=engineer)
    services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M3")

    with pytest.raises(GuardRefused) as refusal:
        advance(in_breakout, Phase.DONE)

    assert unmet_codes(refusal) == ["unknown_unsettled:U-1"]


def test_done_is_allowed_once_every_unknown_is_resolved_or_deferred(
    in_breakout, engineer, tech_lead, principal
):
    resolved = add(engineer, in_breakout, "Resolved", owner=engineer)
    services.resolve_unknown(engineer, resolved, "Yes.")
    deferred = add(engineer, in_breakout, "Deferred", owner=engineer, priority="blocker")
    approve_deferral(deferred, tech_lead, principal)

    assert advance(in_breakout, Phase.DONE).phase == Phase.DONE


# The unknowns page: list, filters, sort ------------------------------------------------


@pytest.fixture
def assorted(milestone, tech_lead, engineer, product):
    """U-1 open normal (eli), U-2 investigating blocker (pia), U-3 resolved high (eli),
    U-4 waiting low (no owner)."""
    u1 = add(engineer, milestone, "Which HSM?", owner=engineer, due_on=date(2030, 5, 1))
    u2 = add(engineer, milestone, "Which bank?", owner=product, priority="blocker")
    services.update_unknown(engineer, u2, status=Unknown.Status.INVESTIGATING)
    u3 = add(engineer, milestone, "Which cipher?", owner=engineer, priority="high")
    services.resolve_unknown(engineer, u3, "AES-GCM.")
    u4 = add(engineer, milestone, "Which courier?", priority="low", due_on=date(2030, 4, 1))
    services.update_unknown(engineer, u4, status=Unknown.Status.WAITING_ON_VENDOR, vendor="DHL")
    # Ages run against the numbers: U-1 is the youngest, U-4 the oldest.
    for unknown, days in ((u1, 1), (u2, 2), (u3, 3), (u4, 4)):
        Unknown.objects.filter(pk=unknown.pk).update(created_at=T0 - timedelta(days=days))
    return [u1, u2, u3, u4]


def test_unknowns_page_lists_every_unknown_of_the_milestone(client_for, assorted, engineer):
    response = client_for(engineer).get(list_url(assorted[0].milestone))

    assert response.status_code == 200
    page = response.content.decode()
    for title in ("Which HSM?", "Which bank?", "Which cipher?", "Which courier?"):
        assert title in page
    assert "Waiting on DHL, not contacted yet" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, ["U-1"]),
        ({"status": "investigating"}, ["U-2"]),
        ({"status": "resolved"}, ["U-3"]),
        ({"status": "waiting_on_vendor"}, ["U-4"]),
        ({"status": "unsettled"}, ["U-2", "U-1", "U-4"]),
        ({"priority": "blocker"}, ["U-2"]),
        ({"priority": "low"}, ["U-4"]),
        ({"owner": "eli"}, ["U-3", "U-1"]),
        ({"owner": "pia"}, ["U-2"]),
        ({"owner": "none"}, ["U-4"]),
        ({"owner": "eli", "status": "unsettled"}, ["U-1"]),
    ],
)
def test_unknowns_page_filters_by_status_priority_and_owner(
    client_for, assorted, engineer, query, expected
):
    response = client_for(engineer).get(list_url(assorted[0].milestone, **query))

    assert keys_on_page(response) == expected


def test_a_filter_that_matches_nothing_says_so(client_for, assorted, engineer):
    response = client_for(engineer).get(list_url(assorted[0].milestone, status="deferred"))

    assert keys_on_page(response) == []
    assert "No unknown matches these filters." in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("priority", ["U-2", "U-3", "U-1", "U-4"]),
        ("age", ["U-4", "U-3", "U-2", "U-1"]),
        ("due", ["U-4", "U-1", "U-2", "U-3"]),
    ],
)
def test_unknowns_page_sorts_by_priority_age_or_due_date(
    client_for, assorted, engineer, sort, expected
):
    response = client_for(engineer).get(list_url(assorted[0].milestone, sort=sort))

    assert keys_on_page(response) == expected


def test_unknowns_page_sorts_by_priority_by_default(client_for, assorted, engineer):
    response = client_for(engineer).get(list_url(assorted[0].milestone))

    assert keys_on_page(response) == ["U-2", "U-3", "U-1", "U-4"]


def test_an_unknown_with_a_pending_deferral_is_marked_in_the_list(
    client_for, milestone, engineer, tech_lead
):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)
    add(engineer, milestone, "Which bank?", owner=engineer)
    services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M3")

    page = client_for(engineer).get(list_url(milestone)).content.decode()

    assert page.count("deferral pending") == 1


# Adding inline -------------------------------------------------------------------------


def add_form(engineer, **overrides) -> dict:
    return {
        "title": "Which HSM?",
        "priority": "blocker",
        "owner": str(engineer.pk),
        "due_on": "2030-05-01",
        "vendor": "Thales",
        **overrides,
    }


def test_adding_an_unknown_from_the_page_saves_it_and_redirects(client_for, milestone, engineer):
    response = client_for(engineer).post(list_url(milestone), add_form(engineer))

    assert response.status_code == 302
    assert response["Location"] == list_url(milestone)
    unknown = Unknown.objects.get()
    assert (unknown.key, unknown.title, unknown.priority) == ("U-1", "Which HSM?", "blocker")
    assert (unknown.owner, unknown.due_on, unknown.vendor) == (
        engineer,
        date(2030, 5, 1),
        "Thales",
    )


@pytest.mark.parametrize("back", ["list", "milestone"])
def test_adding_in_place_answers_the_section_with_the_new_row_and_a_word_that_it_is_added(
    client_for, milestone, engineer, back
):
    response = client_for(engineer).post(
        list_url(milestone), add_form(engineer, back=back), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="unknowns"')
    assert "U-1 is added." in page
    assert "Which HSM?" in page
    assert "<html" not in page
    # The readiness panel hears of it and refreshes itself.
    assert json.loads(response["HX-Trigger"]).keys() == {"unknownsChanged"}
    assert Unknown.objects.get().title == "Which HSM?"


def test_the_readiness_panel_refreshes_alone_for_htmx(client_for, milestone, tech_lead):
    services.add_unknown(tech_lead, milestone, title="Which HSM?")

    response = client_for(tech_lead).get(
        milestone.get_absolute_url(), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="readiness"
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card readiness" id="readiness"')
    assert "<html" not in page
    assert 'id="unknowns"' not in page
    assert "HX-Target" in response["Vary"]


def test_adding_from_the_milestone_page_goes_back_to_it(client_for, milestone, engineer):
    response = client_for(engineer).post(list_url(milestone), add_form(engineer, back="milestone"))

    assert response["Location"] == milestone.get_absolute_url() + "#unknowns"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_invalid_inline_add_keeps_what_was_typed_and_shows_the_error(
    client_for, milestone, engineer, htmx
):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = client_for(engineer).post(
        list_url(milestone),
        add_form(engineer, title="Which HSM vendor?", due_on="next tuesday"),
        **headers,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="Which HSM vendor?"' in page
    assert 'value="Thales"' in page
    assert "Enter a valid date." in page
    assert response.context["add_form"].errors.keys() == {"due_on"}
    assert not Unknown.objects.exists()


def test_inline_add_refuses_an_owner_outside_the_squad(client_for, milestone, engineer, outsider):
    response = client_for(engineer).post(
        list_url(milestone), add_form(engineer, owner=str(outsider.pk))
    )

    assert response.status_code == 200
    assert "owner" in response.context["add_form"].errors
    assert not Unknown.objects.exists()


def test_the_principal_engineer_gets_403_on_adding_an_unknown(client_for, milestone, principal):
    response = client_for(principal).post(list_url(milestone), add_form(principal))

    assert response.status_code == 403
    assert not Unknown.objects.exists()
    assert_forbidden_page(response)


# Editing inline and on its own page ------------------------------------------------------


def row_form(unknown, **overrides) -> dict:
    return {
        "title": unknown.title,
        "priority": unknown.priority,
        "status": unknown.status,
        "owner": str(unknown.owner_id or ""),
        "due_on": unknown.due_on.isoformat() if unknown.due_on else "",
        **overrides,
    }


def assert_only_a_row(response) -> str:
    html = response.content.decode().strip()
    assert html.startswith("<tr") and html.endswith("</tr>")
    assert html.count("<tr") == 1
    assert "<html" not in html
    return html


def test_inline_edit_via_htmx_answers_the_row_as_a_form(client_for, milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)

    response = client_for(engineer).get(
        unknown_url("unknown-edit", unknown), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    row = assert_only_a_row(response)
    assert 'id="unknown-1"' in row
    assert f'hx-post="{unknown_url("unknown-edit", unknown)}"' in row
    assert 'value="Which HSM?"' in row


def test_inline_edit_via_htmx_saves_and_answers_the_saved_row(client_for, milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)

    response = client_for(engineer).post(
        unknown_url("unknown-edit", unknown),
        row_form(unknown, title="Which HSM vendor?", status="investigating", priority="high"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    row = assert_only_a_row(response)
    assert "Which HSM vendor?" in row and "Investigating" in row and "is-editing" not in row
    saved = fresh(unknown)
    assert (saved.title, saved.status, saved.priority) == (
        "Which HSM vendor?",
        "investigating",
        "high",
    )


def test_inline_edit_shows_the_services_refusal_in_the_row(client_for, milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)

    response = client_for(engineer).post(
        unknown_url("unknown-edit", unknown),
        row_form(unknown, status="waiting_on_vendor"),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    row = assert_only_a_row(response)
    assert "Say which vendor it waits on." in row
    assert fresh(unknown).status == "open"


def test_full_edit_page_shows_every_field(client_for, milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)

    response = client_for(engineer).get(unknown_url("unknown-edit", unknown))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    for field in ("vendor_contacted_on", "ticket_url", "detail", "vendor", "status"):
        assert f'name="{field}"' in page


def test_full_edit_page_saves_and_goes_to_the_unknown(client_for, milestone, engineer):
    unknown = add(engineer, milestone, "Which HSM?", owner=engineer)

    response = client_for(engineer).post(
        unknown_url("unknown-edit", unknown),
        {
            **row_form(unknown, status="waiting_on_vendor"),
            "vendor": "Thales",
            "vendor_contacted_on": "2030-03-01",
            "ticket_url": "https://jira.example.com/PAY-12",
            "detail": "Ask about **FIPS** level.",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == unknown.get_absolute_url()
    saved = fresh(unknown)
    assert (saved.status, saved.vendor, saved.vendor_contacted_on) == (
        "waiting_on_vendor",
        "Thales",
        date(2030, 3, 1),
    )
    assert saved.ticket_url == "https://jira.example.com/PAY-12"
    detail = client_for(engineer).get(unknown.get_absolute_url()).content.decode()
    assert "<strong>FIPS</strong>" in detail


# The unknown's own page -----------------------------------------------------------------


@pytest.fixture
def unknown(milestone, engineer):
    return add(engineer, milestone, "Which HSM?", owner=engineer)


def forms_on_detail(client, unknown) -> set[str]:
    page = client.get(unknown.get_absolute_url()).content.decode()
    actions = {
        "comment": unknown_url("unknown-comment", unknown),
        "resolve": unknown_url("unknown-resolve", unknown),
        "deferral": unknown_url("deferral-request", unknown),
    }
    return {name for name, action in actions.items() if f'action="{action}"' in page}


@pytest.mark.parametrize(
    ("who", "forms"),
    [
        ("tech_lead", {"comment", "resolve", "deferral"}),
        ("engineer", {"comment", "resolve"}),
        ("product", {"comment", "resolve"}),
        ("principal", {"comment"}),
    ],
)
def test_detail_page_offers_each_person_the_forms_they_may_use(
    client_for, unknown, request, who, forms
):
    assert forms_on_detail(client_for(request.getfixturevalue(who)), unknown) == forms


def test_detail_page_shows_the_discussion(client_for, unknown, engineer, principal):
    services.comment_on_unknown(principal, unknown, "Ask the **PCI** assessor.")

    response = client_for(engineer).get(unknown.get_absolute_url())

    page = response.content.decode()
    assert "Ask the <strong>PCI</strong> assessor." in page
    assert principal.display_name in page


def test_posting_a_comment_on_the_page_adds_it_to_the_discussion(client_for, unknown, principal):
    response = client_for(principal).post(
        unknown_url("unknown-comment", unknown), {"body": "Ask the assessor."}
    )

    assert response.status_code == 302
    assert response["Location"] == unknown.get_absolute_url() + "#discussion"
    assert list(unknown.comments.values_list("body", flat=True)) == ["Ask the assessor."]


def test_resolving_on_the_page_without_a_resolution_shows_the_error(client_for, unknown, engineer):
    response = client_for(engineer).post(
        unknown_url("unknown-resolve", unknown), {"resolution": ""}
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert fresh(unknown).status == "open"


def test_resolving_on_the_page_shows_the_resolution(client_for, unknown, engineer):
    response = client_for(engineer).post(
        unknown_url("unknown-resolve", unknown), {"resolution": "Luna 7."}, follow=True
    )

    assert response.status_code == 200
    assert "Resolved:</strong> Luna 7." in response.content.decode()


UNKNOWN_REQUESTS = [
    ("unknown-detail", "get"),
    ("unknown-edit", "get"),
    ("unknown-edit", "post"),
    ("unknown-resolve", "post"),
    ("unknown-vendor-contact", "post"),
    ("unknown-comment", "post"),
    ("deferral-request", "post"),
]


@pytest.mark.parametrize(("name", "method"), UNKNOWN_REQUESTS)
def test_an_outsider_gets_404_on_every_unknown_url(client_for, unknown, outsider, name, method):
    client = client_for(outsider)
    data = {"body": "x", "resolution": "x", "reason": "x", "defer_until": "M3", "title": "x"}

    response = getattr(client, method)(unknown_url(name, unknown), data)

    assert response.status_code == 404
    assert_not_found_page(response, "Which HSM?")
    assert fresh(unknown).title == "Which HSM?" and fresh(unknown).status == "open"
    assert not unknown.comments.exists() and not unknown.deferrals.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404_on_the_unknowns_page(client_for, unknown, outsider, method):
    client = client_for(outsider)

    response = getattr(client, method)(list_url(unknown.milestone), {"title": "Sneaky"})

    assert response.status_code == 404
    assert_not_found_page(response, "Which HSM?")
    assert Unknown.objects.count() == 1


def test_an_unknown_key_that_does_not_exist_is_404(client_for, unknown, engineer):
    url = unknown_url("unknown-detail", unknown).replace("/U-1/", "/U-99/")

    assert client_for(engineer).get(url).status_code == 404
    assert_not_found_page(client_for(engineer).get(url))


# Query budgets -----------------------------------------------------------------------------


def many_unknowns(milestone, tech_lead, engineer, product, count: int) -> None:
    owners = [engineer, product, tech_lead, None]
    priorities = list(Unknown.Priority.values)
    for n in range(count):
        unknown = add(
            engineer,
            milestone,
            f"Question {n + 1}",
            owner=owners[n % 4],
            priority=priorities[n % 4],
            due_on=date(2030, 4, 1) + timedelta(days=n),
        )
        if n % 5 == 1:
            services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M3")


@pytest.mark.parametrize("count", [1, 40])
def test_unknowns_page_query_count_does_not_grow_with_unknowns(
    client_for, django_assert_max_num_queries, milestone, tech_lead, engineer, product, count
):
    many_unknowns(milestone, tech_lead, engineer, product, count)
    client = client_for(engineer)

    with django_assert_max_num_queries(UNKNOWNS_PAGE_BUDGET):
        response = client.get(list_url(milestone, sort="due"))

    assert response.status_code == 200
    assert len(response.context["unknowns"]) == count
    assert response.content.decode().count('class="unknown-row') == count


@pytest.mark.parametrize("count", [1, 40])
def test_milestone_page_query_count_does_not_grow_with_unknowns(
    client_for, django_assert_max_num_queries, milestone, tech_lead, engineer, product, count
):
    many_unknowns(milestone, tech_lead, engineer, product, count)
    client = client_for(tech_lead)

    with django_assert_max_num_queries(MILESTONE_PAGE_BUDGET):
        response = client.get(milestone.get_absolute_url())

    assert response.status_code == 200
    assert response.content.decode().count('class="unknown-row') == count
