"""A database from before the notifications app keeps its notifications and deliveries.

The database is taken back to where planning held both models, filled the
way that code filled it (an unsigned escalation already posted, an overdue
blocker still waiting for its post), and migrated forward, then back and
forward again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from notifications.delivery import claim_deliveries
from notifications.models import Notification, WebhookDelivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [
    ("planning", "0006_webhookdelivery"),
    ("squads", "0002_squad_webhook_secret"),
    ("notifications", None),
]
WHEN = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
POSTED = datetime(2030, 3, 4, 9, 1, tzinfo=UTC)
ESCALATION_KEY = "escalation:{unknown}:{lead}:due:2030-03-01"
BLOCKER_KEY = "blocker_overdue:{unknown}:{lead}:due:2030-03-01"


def migrate(targets=None):
    """Migrate to `targets` (the latest migrations when None); return the models of that state."""
    executor = MigrationExecutor(connection)
    if targets is None:
        targets = executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    nodes = [target for target in targets if target[1] is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def fill_as_before(apps) -> dict:
    """Rows as the code before the move wrote them."""
    User = apps.get_model("accounts", "User")
    Squad = apps.get_model("squads", "Squad")
    Project = apps.get_model("planning", "Project")
    Milestone = apps.get_model("planning", "Milestone")
    Unknown = apps.get_model("planning", "Unknown")
    Notification = apps.get_model("planning", "Notification")
    WebhookDelivery = apps.get_model("planning", "WebhookDelivery")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")

    lead = User.objects.create(username="tess", email="tess@example.com")
    squad = Squad.objects.create(
        name="Payments", slug="payments", webhook_url="https://hooks.example.com/payments"
    )
    project = Project.objects.create(squad=squad, name="Vault", slug="vault", tech_lead=lead)
    milestone = Milestone.objects.create(project=project, number=1, title="Vault", tech_lead=lead)
    unknown = Unknown.objects.create(
        milestone=milestone,
        number=1,
        title="Which HSM?",
        due_on=date(2030, 3, 1),
        last_activity_at=WHEN,
    )
    keys = {"unknown": unknown.pk, "lead": lead.pk}
    inbox = Notification.objects.create(
        recipient=lead, kind="unknown_assigned", text="U-1 is yours.", link="/x/",
        email="sent", emailed_at=WHEN, read_at=WHEN,
    )  # fmt: skip
    posted = Notification.objects.create(
        recipient=lead, kind="escalation", text="Escalation: U-1 is past its due date.",
        link="/squads/payments/u-1/", dedupe_key=ESCALATION_KEY.format(**keys), email="pending",
        webhook_url=squad.webhook_url, webhook_claimed_at=WHEN, webhook_sent_at=POSTED,
    )  # fmt: skip
    waiting = Notification.objects.create(
        recipient=lead, kind="blocker_overdue", text="Blocker U-1 was due on 01 Mar.",
        link="/squads/payments/u-1/", dedupe_key=BLOCKER_KEY.format(**keys), email="digest",
        webhook_url=squad.webhook_url,
    )  # fmt: skip
    Notification.objects.filter(pk__in=[posted.pk, waiting.pk]).update(created_at=WHEN)
    phase_event = WebhookDelivery.objects.create(
        squad=squad, event="milestone.phase_changed", url=squad.webhook_url,
        payload={"text": "Moved on.", "event": "milestone.phase_changed", "data": {}, "sent_at": "x"},
        status="sent", attempts=1, response_status=200, sent_at=WHEN,
    )  # fmt: skip
    PeriodicTask.objects.filter(task="planning.send_daily_digests").delete()
    seven = CrontabSchedule.objects.create(minute="0", hour="7", timezone="UTC")
    digest = PeriodicTask.objects.create(
        name="Daily digests", task="planning.send_daily_digests", crontab=seven
    )
    return {
        "squad": squad.pk,
        "inbox": inbox.pk,
        "posted": posted.pk,
        "waiting": waiting.pk,
        "phase_event": phase_event.pk,
        "digest": digest.pk,
        "keys": keys,
    }


def tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_notifications_and_deliveries_survive_the_move_both_ways():
    try:
        before = migrate(BEFORE)
        assert "planning_notification" in tables()
        rows = fill_as_before(before)
        content_type = ContentType.objects.get(app_label="planning", model="notification")

        migrate()

        assert {"notifications_notification", "notifications_webhookdelivery"} <= tables()
        assert not {"planning_notification", "planning_webhookdelivery"} & tables()
        assert ContentType.objects.get(pk=content_type.pk).app_label == "notifications"
        inbox = Notification.objects.get(pk=rows["inbox"])
        assert (inbox.text, inbox.email, inbox.read_at) == ("U-1 is yours.", "sent", WHEN)
        assert Notification.objects.count() == 3
        # The phase event keeps its log entry.
        phase_event = WebhookDelivery.objects.get(pk=rows["phase_event"])
        assert (phase_event.event, phase_event.status, phase_event.sent_at) == (
            "milestone.phase_changed",
            "sent",
            WHEN,
        )
        # The posted escalation is in the log as sent, under its reminder's key,
        # so the sweep does not post it again.
        posted = WebhookDelivery.objects.get(event="unknown.escalated")
        assert posted.dedupe_key == ESCALATION_KEY.format(**rows["keys"])
        assert (posted.squad_id, posted.status, posted.sent_at) == (rows["squad"], "sent", POSTED)
        assert posted.created_at == WHEN
        assert posted.payload["text"].startswith("Escalation: U-1 is past its due date. <http")
        assert posted.payload["data"]["key"] == "U-1"
        # The waiting one is posted, signed, by the next sweep.
        waiting = WebhookDelivery.objects.get(event="unknown.blocker_overdue")
        assert (waiting.status, waiting.claimed_at) == ("pending", None)
        assert claim_deliveries() == ([rows["posted"]], [waiting.pk])
        assert (
            PeriodicTask.objects.get(pk=rows["digest"]).task == "notifications.send_daily_digests"
        )

        back = migrate(BEFORE)

        assert "planning_notification" in tables()
        OldNotification = back.get_model("planning", "Notification")
        restored = {
            n.pk: (n.webhook_url, n.webhook_sent_at)
            for n in OldNotification.objects.filter(pk__in=[rows["posted"], rows["waiting"]])
        }
        assert restored == {
            rows["posted"]: ("https://hooks.example.com/payments", POSTED),
            rows["waiting"]: ("https://hooks.example.com/payments", None),
        }
        assert list(
            back.get_model("planning", "WebhookDelivery").objects.values_list("pk", flat=True)
        ) == [rows["phase_event"]]
        assert PeriodicTask.objects.get(pk=rows["digest"]).task == "planning.send_daily_digests"
    finally:
        migrate()

    assert WebhookDelivery.objects.filter(event="unknown.escalated").count() == 1
