"""The six reminder rules with the clock frozen, their delivery, and the inbox.

Each rule: it fires when due and not a moment before, once per cycle however
often the sweep runs, and any activity starts its count over.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from notifications import delivery, webhooks
from notifications.mail import send_digest, send_email
from notifications.models import Notification, WebhookDelivery
from notifications.services import mark_all_read, mark_read
from planning import services
from planning.models import DesignReview, Unknown
from planning.services import reminders
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory
from tests.helpers import assert_not_found_page

pytestmark = pytest.mark.django_db

# A Monday morning, UTC (the project's TIME_ZONE in tests).
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
Kind = Notification.Kind


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def at(clock, moment: datetime) -> None:
    clock.move_to(moment)


def sweep() -> None:
    reminders.write_reminders()


def written(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("id"))


def count(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


def add(milestone, owner, title="Which HSM?", **fields) -> Unknown:
    """An unknown its owner added themselves, so no assignment message gets in the way."""
    return services.add_unknown(owner, milestone, title=title, owner=owner, **fields)


@pytest.fixture
def unknown(milestone, engineer):
    return add(milestone, engineer)


def comment(unknown, who, body="Still asking around.") -> None:
    services.comment_on_unknown(who, unknown, body)


def rename(unknown, who) -> None:
    services.update_unknown(who, Unknown.objects.get(pk=unknown.pk), title="Which HSM, really?")


ACTIVITIES = {"comment": comment, "update": rename}


# owner_nudge: open or investigating, untouched for remind_after_days (3) ------------------


def test_owner_nudge_is_not_sent_a_second_before_remind_after_days(clock, unknown):
    at(clock, T0 + 3 * DAY - SECOND)
    sweep()

    assert count(Kind.OWNER_NUDGE) == 0


def test_owner_nudge_reaches_the_owner_after_remind_after_days(clock, unknown, engineer):
    at(clock, T0 + 3 * DAY)
    sweep()

    [nudge] = written(Kind.OWNER_NUDGE)
    assert nudge.recipient == engineer
    assert nudge.link == unknown.get_absolute_url()
    assert "U-1" in nudge.text and "3 days" in nudge.text
    assert nudge.dedupe_key.startswith(f"owner_nudge:{unknown.pk}:{engineer.pk}:")


def test_owner_nudge_is_sent_once_per_interval(clock, unknown):
    at(clock, T0 + 3 * DAY)
    sweep()
    sweep()
    at(clock, T0 + 6 * DAY - SECOND)
    sweep()
    assert count(Kind.OWNER_NUDGE) == 1

    at(clock, T0 + 6 * DAY)
    sweep()
    sweep()

    assert count(Kind.OWNER_NUDGE) == 2


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_owner_nudge_starts_over_after_activity(clock, unknown, engineer, activity):
    at(clock, T0 + 3 * DAY)
    sweep()
    touched = T0 + 4 * DAY
    at(clock, touched)
    ACTIVITIES[activity](unknown, engineer)

    at(clock, touched + 3 * DAY - SECOND)
    sweep()
    assert count(Kind.OWNER_NUDGE) == 1

    at(clock, touched + 3 * DAY)
    sweep()
    assert count(Kind.OWNER_NUDGE) == 2


def test_investigating_unknowns_are_nudged_too(clock, unknown, engineer):
    services.update_unknown(engineer, unknown, status=Unknown.Status.INVESTIGATING)

    at(clock, T0 + 3 * DAY)
    sweep()

    assert count(Kind.OWNER_NUDGE) == 1


def test_no_nudge_for_an_unknown_without_owner_or_one_waiting_or_settled(
    clock, milestone, engineer, tech_lead, principal
):
    services.add_unknown(engineer, milestone, title="Nobody's")
    waiting = add(milestone, engineer, "Waiting")
    services.update_unknown(
        engineer,
        waiting,
        status="waiting_on_vendor",
        vendor="Thales",
        vendor_contacted_on=T0.date(),
    )
    resolved = add(milestone, engineer, "Resolved")
    services.resolve_unknown(engineer, resolved, "Yes.")
    deferred = add(milestone, engineer, "Deferred")
    request = services.request_deferral(tech_lead, deferred, reason="Later.", defer_until="M3")
    services.decide_deferral(principal, request, decision="approve")

    at(clock, T0 + 3 * DAY)
    sweep()

    assert count(Kind.OWNER_NUDGE) == 0


def other_team(slug: str, **policy) -> tuple[Unknown, object]:
    """A squad with its own policy, a project, a milestone and one unknown its engineer owns."""
    squad = SquadFactory(slug=slug, **policy)
    lead = UserFactory.create(username=f"{slug}-lead")
    owner = UserFactory.create(username=f"{slug}-eng")
    MembershipFactory(squad=squad, user=lead, role=Membership.Role.TECH_LEAD)
    MembershipFactory(squad=squad, user=owner, role=Membership.Role.ENGINEER)
    project = ProjectFactory.create(squad=squad, slug=slug, tech_lead=lead)
    milestone = services.create_milestone(lead, project, title=f"{slug} milestone")
    return add(milestone, owner), owner


def test_each_squad_is_nudged_after_its_own_remind_after_days(clock):
    _, eager = other_team("eager", remind_after_days=1)
    _, patient = other_team("patient", remind_after_days=5)

    at(clock, T0 + DAY)
    sweep()
    assert [n.recipient for n in written(Kind.OWNER_NUDGE)] == [eager]

    at(clock, T0 + 5 * DAY)
    sweep()
    recipients = [n.recipient for n in written(Kind.OWNER_NUDGE)]
    # The patient squad's first nudge; the eager squad's second (its fifth cycle).
    assert recipients.count(patient) == 1
    assert recipients.count(eager) == 2


def test_a_changed_squad_policy_applies_at_the_next_sweep(clock, squad, unknown):
    Squad.objects.filter(pk=squad.pk).update(remind_after_days=2, escalate_after_days=9)

    at(clock, T0 + 2 * DAY)
    sweep()

    assert count(Kind.OWNER_NUDGE) == 1


# escalation: unsettled and untouched for escalate_after_days (7), or past due_on --------


def test_escalation_is_not_sent_a_second_before_escalate_after_days(clock, unknown):
    at(clock, T0 + 7 * DAY - SECOND)
    sweep()

    assert count(Kind.ESCALATION) == 0


def test_escalation_reaches_the_milestone_tech_lead_after_escalate_after_days(
    clock, unknown, tech_lead
):
    at(clock, T0 + 7 * DAY)
    sweep()

    [escalation] = written(Kind.ESCALATION)
    assert escalation.recipient == tech_lead
    assert "U-1" in escalation.text and "7 days" in escalation.text
    assert escalation.link == unknown.get_absolute_url()


def test_escalation_is_also_an_event_for_the_squad_webhook(clock, squad, unknown):
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")

    at(clock, T0 + 7 * DAY)
    sweep()

    [escalation] = written(Kind.ESCALATION)
    # The owner's nudge stays between the owner and the app.
    [event] = WebhookDelivery.objects.all()
    assert (event.squad, event.event, event.url) == (
        squad,
        "unknown.escalated",
        "https://hooks.example.com/payments",
    )
    assert event.dedupe_key == escalation.dedupe_key
    assert event.payload["data"]["key"] == "U-1"
    assert escalation.text in event.payload["text"]


def test_no_webhook_event_for_a_squad_without_a_webhook(clock, unknown):
    at(clock, T0 + 7 * DAY)
    sweep()

    assert count(Kind.ESCALATION) == 1
    assert not WebhookDelivery.objects.exists()


def test_escalation_is_sent_once_per_interval(clock, unknown):
    at(clock, T0 + 7 * DAY)
    sweep()
    sweep()
    at(clock, T0 + 14 * DAY - SECOND)
    sweep()
    assert count(Kind.ESCALATION) == 1

    at(clock, T0 + 14 * DAY)
    sweep()

    assert count(Kind.ESCALATION) == 2


@pytest.mark.parametrize("activity", ACTIVITIES)
def test_escalation_starts_over_after_activity(clock, unknown, engineer, activity):
    at(clock, T0 + 7 * DAY)
    sweep()
    touched = T0 + 8 * DAY
    at(clock, touched)
    ACTIVITIES[activity](unknown, engineer)

    at(clock, touched + 7 * DAY - SECOND)
    sweep()
    assert count(Kind.ESCALATION) == 1

    at(clock, touched + 7 * DAY)
    sweep()
    assert count(Kind.ESCALATION) == 2


def test_escalation_covers_unknowns_waiting_on_a_vendor_and_without_owner(
    clock, milestone, engineer
):
    services.add_unknown(engineer, milestone, title="Nobody's")
    waiting = add(milestone, engineer, "Waiting")
    services.update_unknown(
        engineer,
        waiting,
        status="waiting_on_vendor",
        vendor="Thales",
        vendor_contacted_on=T0.date(),
    )
    resolved = add(milestone, engineer, "Resolved")
    services.resolve_unknown(engineer, resolved, "Yes.")

    at(clock, T0 + 7 * DAY)
    sweep()

    assert sorted(n.text.split("“")[1].split("”")[0] for n in written(Kind.ESCALATION)) == [
        "Nobody's",
        "Waiting",
    ]


DUE = date(2030, 3, 6)
LAST_MOMENT_OF_DUE_DAY = datetime(2030, 3, 6, 23, 59, 59, tzinfo=UTC)
DAY_AFTER_DUE = datetime(2030, 3, 7, 0, 0, tzinfo=UTC)


def test_escalation_is_not_sent_while_the_due_date_is_today(clock, milestone, engineer):
    add(milestone, engineer, due_on=DUE)

    at(clock, LAST_MOMENT_OF_DUE_DAY)
    sweep()

    assert count(Kind.ESCALATION) == 0


def test_escalation_is_sent_the_day_after_the_due_date(clock, milestone, engineer, tech_lead):
    add(milestone, engineer, due_on=DUE)

    at(clock, DAY_AFTER_DUE)
    sweep()
    sweep()

    [escalation] = written(Kind.ESCALATION)
    assert escalation.recipient == tech_lead
    assert "past its due date (06 Mar)" in escalation.text


def test_an_overdue_unknown_is_escalated_again_after_escalate_after_days(
    clock, milestone, engineer
):
    add(milestone, engineer, due_on=DUE)
    at(clock, DAY_AFTER_DUE)
    sweep()

    at(clock, T0 + 7 * DAY - SECOND)
    sweep()
    assert count(Kind.ESCALATION) == 1

    at(clock, T0 + 7 * DAY)
    sweep()
    assert count(Kind.ESCALATION) == 2


def test_a_comment_on_an_overdue_unknown_holds_the_next_escalation_for_a_full_interval(
    clock, milestone, engineer
):
    overdue = add(milestone, engineer, due_on=DUE)
    at(clock, DAY_AFTER_DUE)
    sweep()
    touched = DAY_AFTER_DUE + timedelta(hours=1)
    at(clock, touched)
    comment(overdue, engineer)

    at(clock, touched + timedelta(minutes=15))
    sweep()
    assert count(Kind.ESCALATION) == 1
    at(clock, touched + 7 * DAY - SECOND)
    sweep()
    assert count(Kind.ESCALATION) == 1

    at(clock, touched + 7 * DAY)
    sweep()
    assert count(Kind.ESCALATION) == 2


# blocker_overdue: a blocker unsettled past due_on, to the principal engineer ------------


@pytest.fixture
def overdue_blocker(milestone, engineer):
    return add(milestone, engineer, priority=Unknown.Priority.BLOCKER, due_on=DUE)


def test_blocker_overdue_is_not_sent_on_the_due_date(clock, overdue_blocker):
    at(clock, LAST_MOMENT_OF_DUE_DAY)
    sweep()

    assert count(Kind.BLOCKER_OVERDUE) == 0


def test_blocker_overdue_goes_to_the_principal_engineer_with_the_webhook(
    clock, squad, overdue_blocker, principal
):
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")

    at(clock, DAY_AFTER_DUE)
    sweep()

    [overdue] = written(Kind.BLOCKER_OVERDUE)
    assert overdue.recipient == principal
    assert "Blocker U-1" in overdue.text and "06 Mar" in overdue.text
    event = WebhookDelivery.objects.get(event="unknown.blocker_overdue")
    assert event.dedupe_key == overdue.dedupe_key
    assert event.payload["data"]["due_on"] == "2030-03-06"


def test_blocker_overdue_is_sent_once_per_interval(clock, overdue_blocker):
    at(clock, DAY_AFTER_DUE)
    sweep()
    sweep()
    # Cycles count remind_after_days (3) from the last activity, at T0.
    at(clock, T0 + 3 * DAY - SECOND)
    sweep()
    assert count(Kind.BLOCKER_OVERDUE) == 1

    at(clock, T0 + 3 * DAY)
    sweep()
    assert count(Kind.BLOCKER_OVERDUE) == 2


def test_a_comment_on_an_overdue_blocker_holds_the_next_reminder_for_a_full_interval(
    clock, overdue_blocker, engineer
):
    at(clock, DAY_AFTER_DUE)
    sweep()
    touched = DAY_AFTER_DUE + timedelta(hours=1)
    at(clock, touched)
    comment(overdue_blocker, engineer)

    at(clock, touched + timedelta(minutes=15))
    sweep()
    assert count(Kind.BLOCKER_OVERDUE) == 1
    at(clock, touched + 3 * DAY - SECOND)
    sweep()
    assert count(Kind.BLOCKER_OVERDUE) == 1

    at(clock, touched + 3 * DAY)
    sweep()
    assert count(Kind.BLOCKER_OVERDUE) == 2


def test_no_blocker_overdue_for_other_priorities_or_settled_blockers(clock, milestone, engineer):
    add(milestone, engineer, "High", priority=Unknown.Priority.HIGH, due_on=DUE)
    resolved = add(milestone, engineer, "Resolved", priority=Unknown.Priority.BLOCKER, due_on=DUE)
    services.resolve_unknown(engineer, resolved, "Yes.")

    at(clock, DAY_AFTER_DUE)
    sweep()

    assert count(Kind.BLOCKER_OVERDUE) == 0


def test_no_blocker_overdue_without_a_principal_engineer(clock, project, overdue_blocker):
    project.principal_engineer = None
    project.save()

    at(clock, DAY_AFTER_DUE)
    sweep()

    assert count(Kind.BLOCKER_OVERDUE) == 0
    assert count(Kind.ESCALATION) == 1


# vendor_followup: waiting on a vendor never contacted, or not for vendor_followup_days (5)


def wait_on_vendor(unknown, who, contacted_on=None) -> None:
    services.update_unknown(
        who,
        Unknown.objects.get(pk=unknown.pk),
        status=Unknown.Status.WAITING_ON_VENDOR,
        vendor="Thales",
        vendor_contacted_on=contacted_on,
    )


def test_vendor_followup_is_not_sent_before_the_unknown_waits_on_a_vendor(clock, unknown):
    at(clock, T0 + 2 * DAY)
    sweep()

    assert count(Kind.VENDOR_FOLLOWUP) == 0


def test_vendor_followup_is_sent_at_once_when_nobody_contacted_the_vendor(clock, unknown, engineer):
    wait_on_vendor(unknown, engineer)

    sweep()

    [followup] = written(Kind.VENDOR_FOLLOWUP)
    assert followup.recipient == engineer
    assert "Thales" in followup.text and "not been contacted" in followup.text


def test_vendor_followup_for_an_uncontacted_vendor_is_sent_once_per_interval(
    clock, unknown, engineer
):
    wait_on_vendor(unknown, engineer)
    sweep()
    sweep()
    at(clock, T0 + 5 * DAY - SECOND)
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 1

    at(clock, T0 + 5 * DAY)
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 2


def test_a_comment_holds_the_next_uncontacted_vendor_followup_for_a_full_interval(
    clock, unknown, engineer
):
    wait_on_vendor(unknown, engineer)
    sweep()
    touched = T0 + DAY
    at(clock, touched)
    comment(unknown, engineer, "Looking for their sales contact.")

    at(clock, touched + timedelta(minutes=15))
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 1
    at(clock, touched + 5 * DAY - SECOND)
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 1

    at(clock, touched + 5 * DAY)
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 2


CONTACTED = date(2030, 3, 4)


def test_vendor_followup_is_not_sent_while_the_contact_is_five_days_old(clock, unknown, engineer):
    wait_on_vendor(unknown, engineer, contacted_on=CONTACTED)

    at(clock, datetime(2030, 3, 9, 23, 59, 59, tzinfo=UTC))
    sweep()

    assert count(Kind.VENDOR_FOLLOWUP) == 0


def test_vendor_followup_is_sent_once_the_contact_is_more_than_five_days_old(
    clock, unknown, engineer
):
    wait_on_vendor(unknown, engineer, contacted_on=CONTACTED)

    at(clock, datetime(2030, 3, 10, tzinfo=UTC))
    sweep()
    sweep()

    [followup] = written(Kind.VENDOR_FOLLOWUP)
    assert followup.recipient == engineer
    assert "contacted on 04 Mar" in followup.text


def test_vendor_followup_after_contact_is_sent_once_per_interval(clock, unknown, engineer):
    wait_on_vendor(unknown, engineer, contacted_on=CONTACTED)
    at(clock, datetime(2030, 3, 10, tzinfo=UTC))
    sweep()
    at(clock, datetime(2030, 3, 13, 23, 59, 59, tzinfo=UTC))
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 1

    at(clock, datetime(2030, 3, 14, tzinfo=UTC))
    sweep()
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 2


def test_noting_a_new_contact_with_the_vendor_starts_the_followup_over(clock, unknown, engineer):
    wait_on_vendor(unknown, engineer, contacted_on=CONTACTED)
    at(clock, datetime(2030, 3, 10, 9, tzinfo=UTC))
    sweep()
    services.update_unknown(
        engineer, Unknown.objects.get(pk=unknown.pk), vendor_contacted_on=date(2030, 3, 10)
    )

    at(clock, datetime(2030, 3, 15, 23, 59, 59, tzinfo=UTC))
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 1

    at(clock, datetime(2030, 3, 16, tzinfo=UTC))
    sweep()
    assert count(Kind.VENDOR_FOLLOWUP) == 2


def test_each_squad_follows_up_vendors_after_its_own_days(clock):
    quick, quick_owner = other_team("quick", vendor_followup_days=1)
    slow, slow_owner = other_team("slow", vendor_followup_days=5)
    for unknown, owner in ((quick, quick_owner), (slow, slow_owner)):
        wait_on_vendor(unknown, owner, contacted_on=CONTACTED)

    at(clock, datetime(2030, 3, 6, tzinfo=UTC))
    sweep()

    assert [n.recipient for n in written(Kind.VENDOR_FOLLOWUP)] == [quick_owner]


# deferral_pending: a request waiting more than a day, to the principal engineer ----------


@pytest.fixture
def deferral(unknown, tech_lead):
    return services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M3")


def test_deferral_pending_is_not_sent_a_second_before_a_day(clock, deferral):
    at(clock, T0 + DAY - SECOND)
    sweep()

    assert count(Kind.DEFERRAL_PENDING) == 0


def test_deferral_pending_reaches_the_principal_after_a_day(clock, deferral, principal):
    at(clock, T0 + DAY)
    sweep()

    [pending] = written(Kind.DEFERRAL_PENDING)
    assert pending.recipient == principal
    assert pending.link == reverse("planning:approvals")
    assert "U-1" in pending.text


def test_deferral_pending_is_sent_once_a_day(clock, deferral):
    at(clock, T0 + DAY)
    sweep()
    sweep()
    at(clock, T0 + 2 * DAY - SECOND)
    sweep()
    assert count(Kind.DEFERRAL_PENDING) == 1

    at(clock, T0 + 2 * DAY)
    sweep()
    assert count(Kind.DEFERRAL_PENDING) == 2


def test_a_decided_deferral_is_no_longer_chased(clock, deferral, principal):
    at(clock, T0 + DAY)
    sweep()
    services.decide_deferral(principal, deferral, decision="approve")

    at(clock, T0 + 5 * DAY)
    sweep()

    assert count(Kind.DEFERRAL_PENDING) == 1


def test_a_new_request_after_a_rejection_waits_a_full_day(
    clock, deferral, unknown, tech_lead, principal
):
    at(clock, T0 + DAY)
    sweep()
    services.decide_deferral(principal, deferral, decision="reject", note="Needed now.")
    asked_again = T0 + DAY + timedelta(hours=2)
    at(clock, asked_again)
    services.request_deferral(tech_lead, unknown, reason="Vendor slipped.", defer_until="M4")

    at(clock, asked_again + DAY - SECOND)
    sweep()
    assert count(Kind.DEFERRAL_PENDING) == 1

    at(clock, asked_again + DAY)
    sweep()
    assert count(Kind.DEFERRAL_PENDING) == 2


# review_at_risk: a design review within two days while unknowns are unsettled ----------


def schedule_review(milestone, when: datetime, **fields) -> DesignReview:
    return DesignReview.objects.create(milestone=milestone, round=1, scheduled_for=when, **fields)


REVIEW_AT = T0 + 5 * DAY


def test_review_at_risk_is_not_sent_a_second_before_two_days_ahead(clock, milestone, unknown):
    schedule_review(milestone, REVIEW_AT)

    at(clock, REVIEW_AT - 2 * DAY - SECOND)
    sweep()

    assert count(Kind.REVIEW_AT_RISK) == 0


def test_review_at_risk_warns_the_tech_lead_two_days_ahead(clock, milestone, unknown, tech_lead):
    schedule_review(milestone, REVIEW_AT)

    at(clock, REVIEW_AT - 2 * DAY)
    sweep()

    [warning] = written(Kind.REVIEW_AT_RISK)
    assert warning.recipient == tech_lead
    assert warning.link == milestone.get_absolute_url()
    assert "Design review 1 of M1" in warning.text and "09 Mar 09:00" in warning.text


def test_review_at_risk_is_sent_once_per_scheduled_time(clock, milestone, unknown):
    review = schedule_review(milestone, REVIEW_AT)
    at(clock, REVIEW_AT - 2 * DAY)
    sweep()
    at(clock, REVIEW_AT - DAY)
    sweep()
    sweep()
    assert count(Kind.REVIEW_AT_RISK) == 1

    moved = REVIEW_AT + timedelta(hours=3)
    DesignReview.objects.filter(pk=review.pk).update(scheduled_for=moved)
    sweep()
    assert count(Kind.REVIEW_AT_RISK) == 2


def test_a_review_moved_later_is_not_at_risk_until_two_days_before_its_new_time(
    clock, milestone, unknown
):
    review = schedule_review(milestone, REVIEW_AT)
    at(clock, REVIEW_AT - 2 * DAY)
    sweep()
    later = REVIEW_AT + 7 * DAY
    DesignReview.objects.filter(pk=review.pk).update(scheduled_for=later)

    at(clock, later - 2 * DAY - SECOND)
    sweep()
    assert count(Kind.REVIEW_AT_RISK) == 1

    at(clock, later - 2 * DAY)
    sweep()
    assert count(Kind.REVIEW_AT_RISK) == 2


def test_no_review_at_risk_when_every_unknown_is_settled(
    clock, milestone, unknown, engineer, tech_lead, principal
):
    services.resolve_unknown(engineer, unknown, "Luna 7.")
    deferred = add(milestone, engineer, "Deferred")
    request = services.request_deferral(tech_lead, deferred, reason="Later.", defer_until="M3")
    services.decide_deferral(principal, request, decision="approve")
    schedule_review(milestone, REVIEW_AT)

    at(clock, REVIEW_AT - DAY)
    sweep()

    assert count(Kind.REVIEW_AT_RISK) == 0


def test_no_review_at_risk_for_a_review_already_past_or_open(clock, milestone, unknown):
    review = schedule_review(milestone, REVIEW_AT)
    at(clock, REVIEW_AT + SECOND)
    sweep()
    DesignReview.objects.filter(pk=review.pk).update(
        status=DesignReview.Status.OPEN, scheduled_for=REVIEW_AT + DAY
    )
    sweep()

    assert count(Kind.REVIEW_AT_RISK) == 0


def test_unsettled_unknowns_of_another_milestone_do_not_put_a_review_at_risk(
    clock, project, milestone, tech_lead, engineer
):
    other = services.create_milestone(tech_lead, project, title="Refunds")
    add(other, engineer)
    schedule_review(milestone, REVIEW_AT)

    at(clock, REVIEW_AT - DAY)
    sweep()

    assert count(Kind.REVIEW_AT_RISK) == 0


# Email delivery --------------------------------------------------------------------------


def nudge_for(unknown) -> Notification:
    """The owner nudge of `unknown`, written by a sweep three days on."""
    with time_machine.travel(T0 + 3 * DAY, tick=False):
        sweep()
    return Notification.objects.get(
        kind=Kind.OWNER_NUDGE, dedupe_key__startswith=f"owner_nudge:{unknown.pk}:"
    )


def test_send_email_sends_one_email_with_text_html_and_an_absolute_link(unknown, engineer):
    nudge = nudge_for(unknown)

    assert send_email(nudge.pk) is True

    [message] = mail.outbox
    assert message.to == [engineer.email]
    assert "U-1" in message.subject
    link = settings.SITE_URL + unknown.get_absolute_url()
    assert link.startswith("http")
    assert nudge.text in message.body and link in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    nudge.refresh_from_db()
    assert nudge.email == Notification.Email.SENT
    assert nudge.emailed_at == T0


def test_send_email_a_second_time_sends_nothing(unknown):
    nudge = nudge_for(unknown)
    send_email(nudge.pk)

    assert send_email(nudge.pk) is False

    assert len(mail.outbox) == 1


def test_digest_readers_get_no_email_at_once_and_one_digest_with_everything(
    milestone, unknown, engineer, tech_lead
):
    engineer.reminder_delivery = engineer.ReminderDelivery.DAILY_DIGEST
    engineer.save()
    services.add_unknown(tech_lead, milestone, title="Which bank?", owner=engineer)
    nudge = nudge_for(unknown)
    # U-2's assignment and both unknowns' nudges.
    mine = list(Notification.objects.filter(recipient=engineer))
    assert len(mine) == 3
    assert {n.email for n in mine} == {Notification.Email.DIGEST}

    assert send_email(nudge.pk) is False
    assert delivery.claim_deliveries() == ([], [])
    assert mail.outbox == []

    assert send_digest(engineer) == 3
    assert send_digest(engineer) == 0
    [digest] = mail.outbox
    assert digest.to == [engineer.email]
    assert "3 updates" in digest.subject
    for notification in mine:
        assert notification.text in digest.body
    assert settings.SITE_URL + unknown.get_absolute_url() in digest.alternatives[0][0]


def test_a_person_without_email_gets_no_email(unknown, engineer):
    engineer.email = ""
    engineer.save()
    nudge = nudge_for(unknown)

    assert nudge.email == Notification.Email.NONE
    assert send_email(nudge.pk) is False
    assert delivery.claim_deliveries() == ([], [])
    assert send_digest(engineer) == 0
    assert mail.outbox == []


# Webhook delivery -------------------------------------------------------------------------


class Hook:
    """A tiny HTTP server on 127.0.0.1, in a thread, that records what is posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(
                    {"body": json.loads(body), "content_type": self.headers["Content-Type"]}
                )
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hook(settings):
    # The test server listens on 127.0.0.1, which only a deployment that allows private hooks reaches.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Hook() as server:
        yield server


@pytest.fixture
def escalation(squad, unknown, hook) -> WebhookDelivery:
    """The webhook event of `unknown`'s escalation, for the squad's webhook (the test server)."""
    Squad.objects.filter(pk=squad.pk).update(webhook_url=hook.url)
    with time_machine.travel(T0 + 7 * DAY, tick=False):
        sweep()
    return WebhookDelivery.objects.get(event="unknown.escalated")


def test_an_escalation_is_posted_as_slack_compatible_json_once(escalation, hook, unknown):
    assert webhooks.post_delivery(escalation.pk) is True

    [post] = hook.posts
    assert post["content_type"] == "application/json"
    assert set(post["body"]) == {"text", "event", "data", "sent_at"}
    text = Notification.objects.get(kind=Kind.ESCALATION).text
    assert text in post["body"]["text"]
    assert settings.SITE_URL + unknown.get_absolute_url() in post["body"]["text"]
    escalation.refresh_from_db()
    assert (escalation.status, escalation.sent_at) == (WebhookDelivery.Status.SENT, T0)


def test_posting_an_escalation_a_second_time_posts_nothing(escalation, hook):
    webhooks.post_delivery(escalation.pk)

    assert webhooks.post_delivery(escalation.pk) is False

    assert len(hook.posts) == 1


def test_a_webhook_answering_500_raises_and_stays_unsent(escalation, hook):
    hook.status = 500

    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.post_delivery(escalation.pk)

    assert len(hook.posts) == 1
    escalation.refresh_from_db()
    assert (escalation.status, escalation.sent_at) == (WebhookDelivery.Status.PENDING, None)


# manage.py send_reminders ------------------------------------------------------------------


def run_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send_reminders", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_send_reminders_writes_and_emails_them_and_a_second_run_sends_nothing(
    clock, unknown, engineer
):
    at(clock, T0 + 3 * DAY)

    out, _ = run_command()

    assert "1 emails sent" in out
    [message] = mail.outbox
    assert message.to == [engineer.email]
    assert "U-1" in message.subject
    assert Notification.objects.get().emailed_at == T0 + 3 * DAY

    out, _ = run_command()

    assert "0 new" in out and "0 emails sent" in out
    assert len(mail.outbox) == 1


def test_send_reminders_posts_escalations_to_the_squad_webhook(clock, squad, unknown, hook):
    Squad.objects.filter(pk=squad.pk).update(webhook_url=hook.url)
    at(clock, T0 + 7 * DAY)

    run_command()
    run_command()

    assert len(hook.posts) == 1
    assert "Escalation: U-1" in hook.posts[0]["body"]["text"]
    # The owner's nudge and the tech lead's escalation, each emailed once.
    assert sorted(m.to[0] for m in mail.outbox) == ["eli@example.com", "tess@example.com"]


def test_a_failed_webhook_is_posted_by_a_later_run(clock, squad, unknown, hook):
    Squad.objects.filter(pk=squad.pk).update(webhook_url=hook.url)
    at(clock, T0 + 7 * DAY)
    hook.status = 500

    _, err = run_command()
    assert "failed" in err
    hook.status = 200
    clock.shift(timedelta(minutes=15))
    run_command()

    assert len(hook.posts) == 2
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SENT


# The inbox ------------------------------------------------------------------------------------


def message_for(user, text="Something happened.", link="/inbox/") -> Notification:
    return Notification.objects.create(
        recipient=user, kind=Kind.UNKNOWN_ASSIGNED, text=text, link=link
    )


def test_mark_read_marks_one_notification_read(client_for, engineer):
    first, second = message_for(engineer), message_for(engineer)

    response = client_for(engineer).post(reverse("planning:notification-read", args=[first.pk]))

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at == T0
    assert second.read_at is None


def test_mark_all_read_marks_only_my_notifications_read(client_for, engineer, tech_lead):
    mine = [message_for(engineer), message_for(engineer)]
    theirs = message_for(tech_lead)

    response = client_for(engineer).post(reverse("planning:inbox-read-all"))

    assert response.status_code == 302
    assert all(Notification.objects.get(pk=n.pk).read_at == T0 for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_navigation_shows_my_unread_count(client_for, engineer, tech_lead):
    message_for(engineer)
    message_for(engineer)
    read = message_for(engineer)
    mark_read(engineer, read.pk)
    message_for(tech_lead)

    page = client_for(engineer).get(reverse("planning:inbox")).content.decode()

    assert 'id="unread-count" aria-label="2 unread">2</span>' in page


def test_the_navigation_shows_no_count_when_all_is_read(client_for, engineer):
    message_for(engineer)
    mark_all_read(engineer)

    page = client_for(engineer).get(reverse("planning:inbox")).content.decode()

    assert 'id="unread-count"' not in page


def test_opening_a_notification_marks_it_read_and_follows_its_link(client_for, unknown, engineer):
    notification = message_for(engineer, link=unknown.get_absolute_url())

    response = client_for(engineer).get(
        reverse("planning:notification-open", args=[notification.pk])
    )

    assert response.status_code == 302
    assert response["Location"] == unknown.get_absolute_url()
    notification.refresh_from_db()
    assert notification.read_at == T0


def test_a_notification_link_to_another_site_is_not_followed(client_for, engineer):
    notification = message_for(engineer, link="https://evil.example.com/")

    response = client_for(engineer).get(
        reverse("planning:notification-open", args=[notification.pk])
    )

    assert response["Location"] == reverse("planning:inbox")


@pytest.mark.parametrize(
    ("name", "method"), [("notification-open", "get"), ("notification-read", "post")]
)
def test_someone_elses_notification_is_404(client_for, engineer, tech_lead, name, method):
    theirs = message_for(tech_lead, "Only for tess.")

    response = getattr(client_for(engineer), method)(reverse(f"planning:{name}", args=[theirs.pk]))

    assert response.status_code == 404
    assert_not_found_page(response, "Only for tess.")
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_lists_only_my_notifications(client_for, engineer, tech_lead):
    message_for(engineer, "For eli")
    message_for(tech_lead, "For tess")

    page = client_for(engineer).get(reverse("planning:inbox")).content.decode()

    assert "For eli" in page and "For tess" not in page
