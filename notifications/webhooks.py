"""Signed events to a squad's webhook: phase moves, review outcomes, escalations, overdue blockers.

The body is Slack-compatible JSON (a "text", plus "event", "data" and
"sent_at" for machines); the header X-Squad-Planner-Signature carries
"sha256=<HMAC-SHA256 of the body with the squad's webhook secret>". Every
event is a WebhookDelivery row: tech leads see the log, `notifications.delivery`
queues its post, and a failed post is retried by Celery with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.bulk import insert_new
from notifications.delivery import queue_on_commit
from notifications.models import WebhookDelivery
from squads.models import Squad

SIGNATURE_HEADER = "X-Squad-Planner-Signature"
EVENT_HEADER = "X-Squad-Planner-Event"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(event: str, text: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The body of an event: its "data" may carry a "url", which the text links to."""
    link = data.get("url", "")
    return {
        "text": f"{text} <{link}|Open in Squad Planner>" if link else text,
        "event": event,
        "data": data,
        "sent_at": now.isoformat(),
    }


def queue_event(
    squad: Squad, event: str, text: str, data: dict[str, Any]
) -> WebhookDelivery | None:
    """Record an event for the squad's webhook; it is posted once the transaction commits.

    A squad without a webhook URL records nothing, and None is returned.
    """
    if not squad.webhook_url:
        return None
    delivery = WebhookDelivery.objects.create(
        squad=squad,
        event=event,
        url=squad.webhook_url,
        payload=payload(event, text, data, timezone.now()),
    )
    queue_on_commit(delivery=delivery)
    return delivery


@dataclass(frozen=True)
class Event:
    """One event of a bulk write, named by its unique dedupe key."""

    squad_id: int
    url: str
    event: str
    text: str
    data: dict[str, Any]
    dedupe_key: str


_COLUMNS = {
    "squad_id": "bigint[]",
    "event": "text[]",
    "url": "text[]",
    "payload": "jsonb[]",
    "dedupe_key": "text[]",
    "status": "text[]",
    "attempts": "smallint[]",
    "last_error": "text[]",
}


def queue_events(events: Sequence[Event], now: datetime | None = None) -> int:
    """Write every event whose dedupe key is new, set-based; return how many were new.

    Nothing is queued here: the caller (the sweep) queues the whole outbox next.
    """
    now = now or timezone.now()
    rows = [
        {
            "squad_id": e.squad_id,
            "event": e.event,
            "url": e.url,
            "payload": payload(e.event, e.text, e.data, now),
            "dedupe_key": e.dedupe_key,
            "status": WebhookDelivery.Status.PENDING.value,
            "attempts": 0,
            "last_error": "",
        }
        for e in events
    ]
    return insert_new(WebhookDelivery, rows, _COLUMNS, now)


def post_delivery(delivery_id: int) -> bool:
    """Post one delivery unless it was already sent or given up. Raises on failure, so the task retries."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("squad")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return False
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        request = urllib.request.Request(
            delivery.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "SquadPlanner",
                EVENT_HEADER: delivery.event,
                SIGNATURE_HEADER: sign(delivery.squad.webhook_secret, body),
            },
        )
        delivery.attempts += 1
        failure: OSError | None = None
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                delivery.response_status = answer.status
        except urllib.error.HTTPError as error:
            delivery.response_status = error.code
            delivery.last_error = f"HTTP {error.code}"
            failure = error
        except OSError as error:
            delivery.last_error = str(error)[:300]
            failure = error
        if failure is None:
            delivery.status = WebhookDelivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
    # Raised after the transaction commits the attempt, so the log keeps it.
    if failure is not None:
        raise failure
    return True


def mark_failed(delivery_id: int, error: str) -> None:
    """Give a delivery up, with the reason: a failed one is never queued again."""
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(
        status=WebhookDelivery.Status.SENT
    ).update(status=WebhookDelivery.Status.FAILED, last_error=error[:300])
