"""Reminders through a real Celery worker on Redis: the beat task, the deliveries, the email
and the squad's webhook."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from config.celery import app
from notifications.models import Notification, WebhookDelivery
from notifications.webhooks import sign
from planning import services
from planning.models import Unknown
from squads.models import Squad
from tests.factories import MembershipFactory, UserFactory
from tests.processes import start_worker, stop, unique_queue, wait_until
from tests.test_delivery_failures import BROKEN_TITLE
from tests.test_webhooks import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    queue = unique_queue("reminders")
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    log = tmp_path / "worker.log"
    process = start_worker(
        queue,
        log,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(outbox),
        SITE_URL="https://planner.example.com",
        # The test's webhook receiver listens on 127.0.0.1.
        WEBHOOK_ALLOW_PRIVATE="true",
    )
    try:
        yield {"queue": queue, "outbox": outbox, "log": log}
    finally:
        stop(process)


def sent_messages(outbox):
    # The file backend opens its file before building the message: one that failed leaves it empty.
    return [
        message_from_bytes(path.read_bytes())
        for path in sorted(outbox.iterdir())
        if path.stat().st_size
    ]


def test_beat_sweep_task_reminds_the_owner_by_email_through_the_worker(
    worker, project, tech_lead, engineer
):
    engineer.email = "eli@example.com"
    engineer.save(update_fields=["email"])
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    unknown = services.add_unknown(
        tech_lead, milestone, title="Token format of the vault", owner=engineer
    )
    Unknown.objects.filter(pk=unknown.pk).update(
        last_activity_at=timezone.now() - timedelta(days=4)
    )
    # The inbox entry for the assignment was delivered on commit; clear the slate.
    Notification.objects.all().delete()

    # What Celery beat does every 15 minutes: send the sweep task by name.
    result = app.send_task("planning.sweep_reminders", queue=worker["queue"])
    summary = result.get(timeout=60)
    assert summary["created"] == 1
    assert summary["queued"] == 1

    nudge = Notification.objects.get(kind=Notification.Kind.OWNER_NUDGE)
    assert nudge.recipient == engineer
    wait_until(
        lambda: Notification.objects.filter(pk=nudge.pk, emailed_at__isnull=False).exists(),
        60,
        "the worker did not deliver the reminder",
        worker["log"],
    )
    messages = sent_messages(worker["outbox"])
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "eli@example.com"
    assert "U-1" in message["Subject"]
    body = message.get_payload(0).get_payload(decode=True).decode()
    assert "https://planner.example.com/squads/" in body and "/unknowns/U-1/" in body

    # A second beat tick in the same cycle finds it already sent: nothing new.
    again = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
    assert again == {"due": 1, "created": 0, "queued": 0}
    assert Notification.objects.filter(kind=Notification.Kind.OWNER_NUDGE).count() == 1
    assert len(sent_messages(worker["outbox"])) == 1


def test_a_delivery_whose_task_was_lost_is_found_by_the_next_sweep(worker, tech_lead):
    tech_lead.email = "tess@example.com"
    tech_lead.save(update_fields=["email"])
    # Claimed long ago, never sent: its task vanished with a broker restart.
    lost = Notification.objects.create(
        recipient=tech_lead,
        kind=Notification.Kind.ESCALATION,
        text="U-9 is past its due date.",
        link="/",
        email=Notification.Email.PENDING,
        email_claimed_at=timezone.now() - timedelta(hours=1),
    )
    summary = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
    assert summary["queued"] == 1
    wait_until(
        lambda: Notification.objects.filter(pk=lost.pk, emailed_at__isnull=False).exists(),
        60,
        "the lost delivery was not sent",
        worker["log"],
    )
    assert [m["To"] for m in sent_messages(worker["outbox"])] == ["tess@example.com"]
    # Not a second time.
    assert (
        app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)["queued"]
        == 0
    )
    assert len(sent_messages(worker["outbox"])) == 1


def test_digest_users_get_no_immediate_email(worker, tech_lead):
    digest_reader = UserFactory(username="dora", email="dora@example.com")
    digest_reader.reminder_delivery = digest_reader.ReminderDelivery.DAILY_DIGEST
    digest_reader.save(update_fields=["reminder_delivery"])
    Notification.objects.create(
        recipient=digest_reader,
        kind=Notification.Kind.ESCALATION,
        text="Digest me.",
        email=Notification.Email.DIGEST,
    )
    summary = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
    assert summary["queued"] == 0
    digests = app.send_task("notifications.send_daily_digests", queue=worker["queue"]).get(
        timeout=60
    )
    assert digests == 1
    messages = sent_messages(worker["outbox"])
    assert [m["To"] for m in messages] == ["dora@example.com"]
    assert "daily digest" in messages[0]["Subject"]


def test_beat_sweep_posts_a_signed_escalation_through_the_worker(
    worker, squad, project, tech_lead, engineer
):
    receiver = Receiver()
    try:
        Squad.objects.filter(pk=squad.pk).update(webhook_url=receiver.url)
        milestone = services.create_milestone(tech_lead, project, title="Vault")
        unknown = services.add_unknown(engineer, milestone, title="Which HSM?", owner=engineer)
        Unknown.objects.filter(pk=unknown.pk).update(
            last_activity_at=timezone.now() - timedelta(days=8)
        )

        app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
        [delivery] = WebhookDelivery.objects.all()
        wait_until(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="sent").exists(),
            60,
            "the worker did not post the escalation",
            worker["log"],
        )
        [(headers, body)] = receiver.requests
        assert headers["X-Squad-Planner-Event"] == "unknown.escalated"
        secret = Squad.objects.get(pk=squad.pk).webhook_secret
        assert headers["X-Squad-Planner-Signature"] == sign(secret, body)

        # A second beat tick writes and queues nothing new.
        again = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
        assert (again["created"], again["queued"]) == (0, 0)
        assert WebhookDelivery.objects.count() == 1
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


def test_a_title_with_line_breaks_and_an_address_that_cannot_be_a_header_stop_no_one(
    worker, squad, project, tech_lead, engineer, product
):
    """Worker mode: each reminder is its own task; the one that can never be sent is failed."""
    broken_address = UserFactory(username="bea", email="bea@example.com")
    MembershipFactory(squad=squad, user=broken_address, role="engineer")
    # Saved behind the forms' back: an address no email header can carry.
    type(broken_address).objects.filter(pk=broken_address.pk).update(
        email="bea@example.com\r\nBcc: everyone@example.com"
    )
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    owners = [(engineer, BROKEN_TITLE), (product, "Which HSM?"), (broken_address, "Quota")]
    for owner, title in owners:
        services.add_unknown(owner, milestone, title=title, owner=owner)
    Unknown.objects.update(last_activity_at=timezone.now() - timedelta(days=4))
    Notification.objects.all().delete()

    summary = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
    assert (summary["created"], summary["queued"]) == (3, 3)

    wait_until(
        lambda: not Notification.objects.filter(email=Notification.Email.PENDING).exists(),
        60,
        "the worker did not settle every reminder",
        worker["log"],
    )
    messages = {m["To"]: m for m in sent_messages(worker["outbox"])}
    assert set(messages) == {"eli@example.com", "pia@example.com"}
    subject = str(make_header(decode_header(messages["eli@example.com"]["Subject"])))
    assert subject.startswith(
        "[Squad Planner] U-1 “line one line two line three four five six seven eight nine”"
    )
    failed = Notification.objects.get(recipient=broken_address)
    assert failed.email == Notification.Email.FAILED
    assert failed.email_error.startswith("Bad header:")

    # The next tick queues nothing: what was sent is sent, what failed stays failed.
    again = app.send_task("planning.sweep_reminders", queue=worker["queue"]).get(timeout=60)
    assert (again["created"], again["queued"]) == (0, 0)
    assert len(sent_messages(worker["outbox"])) == 2
