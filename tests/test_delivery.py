"""The one way out: what a transaction writes is queued once, after it commits, by one function."""

from __future__ import annotations

import time
from contextlib import suppress

import pytest
from django.db import transaction

from notifications import delivery, tasks
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
    _patch_apply_async(monkeypatch, sent)
    return sent


def _patch_apply_async(monkeypatch, sent: dict[str, list[int]]) -> None:
    monkeypatch.setattr(
        tasks.deliver_email, "apply_async", lambda args, **options: sent["email"].append(args[0])
    )
    monkeypatch.setattr(
        tasks.deliver_webhook,
        "apply_async",
        lambda args, **options: sent["webhook"].append(args[0]),
    )


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


# The broker away ------------------------------------------------------------------------------


@pytest.fixture
def broker_away(monkeypatch):
    """The Celery app pointed at a loopback port where no broker listens."""
    from config.celery import app
    from tests.processes import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(delivery, "_broker_away_until", 0.0)
    # The environment's CELERY_BROKER_URL wins over the app's settings: change both.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.setattr(app.conf, "broker_url", url)
    assert app.conf.broker_write_url == url
    return app


def test_a_change_commits_at_once_and_its_messages_stay_unclaimed_while_the_broker_is_away(
    engineer, hooked_squad, broker_away, django_capture_on_commit_callbacks, caplog
):
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = notify(engineer, KIND, "While the broker is away.")
        event = queue_event(hooked_squad, "test.event", "Also.", {})

    assert time.monotonic() - started < 1
    assert "Broker unavailable" in caplog.text
    # In the outbox, unclaimed: the next sweep takes them at once.
    assert Notification.objects.filter(
        pk=message.pk, email=Notification.Email.PENDING, email_claimed_at__isnull=True
    ).exists()
    assert WebhookDelivery.objects.filter(
        pk=event.pk, status=WebhookDelivery.Status.PENDING, claimed_at__isnull=True
    ).exists()


def test_after_a_failure_the_broker_is_left_alone_for_a_while(
    engineer, broker_away, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(engineer, KIND, "First: the broker fails.")
    monkeypatch.setattr(
        broker_away, "connection_for_write", lambda **k: pytest.fail("asked the broker again")
    )
    with django_capture_on_commit_callbacks(execute=True):
        later = notify(engineer, KIND, "Second: not even tried.")

    assert Notification.objects.get(pk=later.pk).email_claimed_at is None

    monkeypatch.undo()
    monkeypatch.setattr(delivery, "_broker_away_until", 0.0)
    queued: dict[str, list[int]] = {"email": [], "webhook": []}
    _patch_apply_async(monkeypatch, queued)
    with django_capture_on_commit_callbacks(execute=True):
        summary = delivery.queue_deliveries()

    assert len(summary.emails) == 2 and sorted(queued["email"]) == sorted(summary.emails)


def test_a_failure_to_queue_never_fails_the_change(
    engineer, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("no claim today")

    monkeypatch.setattr(delivery, "claim_deliveries", broken)
    with django_capture_on_commit_callbacks(execute=True):
        message = notify(engineer, KIND, "Kept.")

    assert Notification.objects.filter(pk=message.pk, email_claimed_at__isnull=True).exists()


def test_queueing_publishes_once_with_short_timeouts_and_stores_no_result(monkeypatch):
    calls = []
    monkeypatch.setattr(
        tasks.deliver_email, "apply_async", lambda args, **options: calls.append(options)
    )

    delivery._publish(delivery.Claimed([1], []))

    [options] = calls
    assert options["retry"] is False
    transport = options["producer"].connection.transport_options
    assert transport["max_retries"] == 0
    assert transport["socket_connect_timeout"] <= 1 and transport["socket_timeout"] <= 1
    assert tasks.deliver_email.ignore_result and tasks.deliver_webhook.ignore_result
