"""The one way out: what a transaction writes is queued once, after it commits, by one function."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import transaction

from notifications import tasks
from notifications.models import Notification, WebhookDelivery
from notifications.services import notify
from notifications.webhooks import queue_event
from squads.models import Squad

pytestmark = pytest.mark.django_db

KIND = Notification.Kind.UNKNOWN_ASSIGNED


@pytest.fixture
def queued(monkeypatch):
    """The delivery tasks queued, by kind, instead of sent to the broker."""
    sent: dict[str, list[int]] = {"email": [], "webhook": []}
    monkeypatch.setattr(tasks.deliver_email, "delay", sent["email"].append)
    monkeypatch.setattr(tasks.deliver_webhook, "delay", sent["webhook"].append)
    return sent


@pytest.fixture
def hooked_squad(squad):
    # Nothing is posted: the delivery task does not run in these tests.
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")
    squad.refresh_from_db()
    return squad


def test_a_transaction_asks_once_for_what_it_wrote_to_be_queued(
    engineer, product, hooked_squad, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = notify(engineer, KIND, "One.")
        second = notify(product, KIND, "Two.")
        event = queue_event(hooked_squad, "test.event", "Three.", {})
        assert queued == {"email": [], "webhook": []}

    # One callback registered by the transaction, then the one that queues the tasks.
    assert len(callbacks) == 2
    assert sorted(queued["email"]) == sorted([first.pk, second.pk])
    assert queued["webhook"] == [event.pk]
    assert not Notification.objects.filter(email_claimed_at__isnull=True).exists()
    assert not WebhookDelivery.objects.filter(claimed_at__isnull=True).exists()


def test_a_rolled_back_savepoint_loses_only_its_own_messages(
    engineer, product, tech_lead, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = notify(engineer, KIND, "Kept.")
        with suppress(RuntimeError), transaction.atomic():
            notify(product, KIND, "Rolled back.")
            raise RuntimeError
        later = notify(tech_lead, KIND, "Also kept.")

    assert sorted(queued["email"]) == sorted([kept.pk, later.pk])
    assert list(Notification.objects.values_list("text", flat=True).order_by("pk")) == [
        "Kept.",
        "Also kept.",
    ]


def test_a_rolled_back_transaction_queues_nothing(
    engineer, hooked_squad, queued, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        suppress(RuntimeError),
        transaction.atomic(),
    ):
        notify(engineer, KIND, "Never.")
        queue_event(hooked_squad, "test.event", "Never.", {})
        raise RuntimeError

    assert callbacks == []
    assert queued == {"email": [], "webhook": []}
    assert not Notification.objects.exists() and not WebhookDelivery.objects.exists()


def test_digest_readers_and_people_without_email_have_nothing_queued(
    engineer, product, queued, django_capture_on_commit_callbacks
):
    engineer.reminder_delivery = engineer.ReminderDelivery.DAILY_DIGEST
    engineer.save(update_fields=["reminder_delivery"])
    product.email = ""
    product.save(update_fields=["email"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(engineer, KIND, "In the digest.")
        notify(product, KIND, "Inbox only.")

    assert callbacks == []
    assert queued == {"email": [], "webhook": []}
