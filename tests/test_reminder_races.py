"""Sweeps and deliveries run at the same time, with real threads on PostgreSQL.

Two beat ticks that overlap, two workers claiming the same outbox, a delivery
task redelivered while the first copy still runs: each reminder and webhook
event exists once, each delivery is claimed once, each email goes out once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from notifications import delivery
from notifications import mail as emails
from notifications.models import Notification, WebhookDelivery
from planning import services
from planning.models import Unknown
from planning.services import reminders
from squads.models import Squad

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2030, 3, 12, 9, 0, tzinfo=UTC)
DUE_UNKNOWNS = 30


def at_once(*targets: Callable[[], object]) -> list[object]:
    """Run each target in its own thread, released together; return their results in order."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []

    def run(index: int, target: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors
    return results


@pytest.fixture
def due_unknowns(squad, project, tech_lead, engineer):
    """Thirty unknowns untouched for eight days: each due an owner nudge and an escalation."""
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    Unknown.objects.bulk_create(
        Unknown(
            milestone=milestone,
            number=n,
            title=f"Question {n}",
            owner=engineer,
            last_activity_at=NOW - timedelta(days=8),
        )
        for n in range(1, DUE_UNKNOWNS + 1)
    )
    return milestone


def expected_keys() -> set[str]:
    return {due.key for rule in reminders.RULES for due in rule(NOW)}


def test_two_sweeps_at_once_write_each_reminder_and_webhook_event_exactly_once(due_unknowns):
    expected = expected_keys()
    assert len(expected) == 2 * DUE_UNKNOWNS

    at_once(lambda: reminders.write_reminders(NOW), lambda: reminders.write_reminders(NOW))

    per_key = Counter(Notification.objects.values_list("dedupe_key", flat=True))
    assert set(per_key) == expected
    assert set(per_key.values()) == {1}
    escalations = set(
        Notification.objects.filter(kind=Notification.Kind.ESCALATION).values_list(
            "dedupe_key", flat=True
        )
    )
    events = Counter(WebhookDelivery.objects.values_list("dedupe_key", flat=True))
    assert set(events) == escalations
    assert set(events.values()) == {1}


def test_two_workers_claiming_at_once_claim_every_delivery_exactly_once(due_unknowns):
    reminders.write_reminders(NOW)
    emails = set(Notification.objects.values_list("pk", flat=True))
    hooks = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert (len(emails), len(hooks)) == (2 * DUE_UNKNOWNS, DUE_UNKNOWNS)

    first, second = at_once(delivery.claim_deliveries, delivery.claim_deliveries)

    (first_emails, first_hooks), (second_emails, second_hooks) = first, second
    assert sorted(first_emails + second_emails) == sorted(emails)
    assert sorted(first_hooks + second_hooks) == sorted(hooks)
    assert Notification.objects.filter(email_claimed_at__isnull=True).count() == 0
    assert WebhookDelivery.objects.filter(claimed_at__isnull=True).count() == 0


def test_one_email_delivered_twice_at_once_is_sent_once(engineer, monkeypatch):
    notification = Notification.objects.create(
        recipient=engineer,
        kind=Notification.Kind.OWNER_NUDGE,
        text="U-1 “Which HSM?” has had no activity for 3 days.",
        link="/inbox/",
    )
    render = emails.render_to_string

    def slow_render(*args, **kwargs):
        # Widen the window between reading the row and marking it emailed.
        time.sleep(0.2)
        return render(*args, **kwargs)

    monkeypatch.setattr(emails, "render_to_string", slow_render)

    sent = at_once(
        lambda: emails.send_email(notification.pk),
        lambda: emails.send_email(notification.pk),
    )

    assert sorted(sent) == [False, True]
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.email == Notification.Email.SENT
