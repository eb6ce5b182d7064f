"""Escalations and overdue blockers that carried the squad's webhook become signed deliveries.

Each keeps its reminder's dedupe key, which is the key the sweep now gives
the event, so a reminder posted before the upgrade is not posted again, and
one still waiting is posted (signed) by the next sweep. Sent ones join the
squad's delivery log as sent.
"""

from django.conf import settings
from django.db import migrations

EVENTS = {"escalation": "unknown.escalated", "blocker_overdue": "unknown.blocker_overdue"}
BATCH = 1000


def _link(path):
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


def _unknown_id(dedupe_key):
    # "escalation:<unknown>:…" and "blocker_overdue:<unknown>:…"
    try:
        return int(dedupe_key.split(":")[1])
    except (IndexError, ValueError):
        return None


def to_deliveries(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    WebhookDelivery = apps.get_model("notifications", "WebhookDelivery")
    Unknown = apps.get_model("planning", "Unknown")
    Squad = apps.get_model("squads", "Squad")
    hooked = (
        Notification.objects.exclude(webhook_url="")
        .exclude(dedupe_key=None)
        .order_by("pk")
        .values(
            "kind", "text", "link", "dedupe_key", "created_at", "webhook_url", "webhook_sent_at"
        )
    )
    rows = list(hooked)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        known = set(
            WebhookDelivery.objects.filter(
                dedupe_key__in=[row["dedupe_key"] for row in batch]
            ).values_list("dedupe_key", flat=True)
        )
        unknowns = Unknown.objects.select_related("milestone__project").in_bulk(
            {_unknown_id(row["dedupe_key"]) for row in batch} - {None}
        )
        squads_by_url = {}
        deliveries = []
        for row in batch:
            if row["dedupe_key"] in known:
                continue
            unknown = unknowns.get(_unknown_id(row["dedupe_key"]))
            if unknown is not None:
                squad_id = unknown.milestone.project.squad_id
            else:
                url = row["webhook_url"]
                if url not in squads_by_url:
                    squads_by_url[url] = (
                        Squad.objects.filter(webhook_url=url).values_list("pk", flat=True).first()
                    )
                squad_id = squads_by_url[url]
            if squad_id is None:
                continue
            event = EVENTS.get(row["kind"], f"unknown.{row['kind']}")
            link = _link(row["link"])
            data = {"url": link} if link else {}
            if unknown is not None:
                data = {
                    "unknown": unknown.pk,
                    "key": f"U-{unknown.number}",
                    "title": unknown.title,
                    "milestone": unknown.milestone_id,
                    "due_on": unknown.due_on.isoformat() if unknown.due_on else None,
                    **data,
                }
            sent_at = row["webhook_sent_at"]
            deliveries.append(
                WebhookDelivery(
                    squad_id=squad_id,
                    event=event,
                    url=row["webhook_url"],
                    payload={
                        "text": f"{row['text']} <{link}|Open in Squad Planner>"
                        if link
                        else row["text"],
                        "event": event,
                        "data": data,
                        "sent_at": row["created_at"].isoformat(),
                    },
                    dedupe_key=row["dedupe_key"],
                    status="sent" if sent_at else "pending",
                    attempts=1 if sent_at else 0,
                    sent_at=sent_at,
                )
            )
        created = WebhookDelivery.objects.bulk_create(deliveries)
        # auto_now_add stamped them now; the log shows them when they happened.
        by_key = {row["dedupe_key"]: row["created_at"] for row in batch}
        for delivery in created:
            delivery.created_at = by_key[delivery.dedupe_key]
        WebhookDelivery.objects.bulk_update(created, ["created_at"])


def to_notifications(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    WebhookDelivery = apps.get_model("notifications", "WebhookDelivery")
    from_reminders = WebhookDelivery.objects.filter(
        event__in=list(EVENTS.values()), dedupe_key__isnull=False
    )
    rows = list(from_reminders.values("pk", "dedupe_key", "url", "sent_at"))
    for start in range(0, len(rows), BATCH):
        batch = {row["dedupe_key"]: row for row in rows[start : start + BATCH]}
        notifications = list(Notification.objects.filter(dedupe_key__in=list(batch)))
        for notification in notifications:
            notification.webhook_url = batch[notification.dedupe_key]["url"]
            notification.webhook_sent_at = batch[notification.dedupe_key]["sent_at"]
        Notification.objects.bulk_update(notifications, ["webhook_url", "webhook_sent_at"])
    from_reminders.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_tables_of_their_own"),
        ("planning", "0007_notifications_move_out"),
    ]

    operations = [migrations.RunPython(to_deliveries, to_notifications)]
