"""Signed events to a squad's webhook: phase moves, review outcomes, escalations, overdue blockers.

The body is Slack-compatible JSON (a "text", plus "event", "data" and
"sent_at" for machines); the header X-Squad-Planner-Signature carries
"sha256=<HMAC-SHA256 of the body with the squad's webhook secret>". Every
event is a WebhookDelivery row: tech leads see the log, `notifications.delivery`
queues its post, and a failed post is retried by Celery with backoff. A post
that cannot succeed (an address webhooks may not reach, an answer that says
the hook is gone) or that failed MAX_ATTEMPTS times is marked failed, with
the reason, and never queued again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from notifications import egress
from notifications.bulk import insert_new
from notifications.delivery import queue_on_commit
from notifications.models import WebhookDelivery
from squads.models import Squad

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Squad-Planner-Signature"
EVENT_HEADER = "X-Squad-Planner-Event"
# One post and its retries: after this many failed attempts the delivery is given up.
MAX_ATTEMPTS = 9
# Answers that say the hook will never take this post (Slack: no_service,
# channel_is_archived, invalid_payload, …); timeouts and rate limits are worth a retry.
_RETRYABLE_4XX = {408, 425, 429}


class DeliveryFailed(OSError):
    """The hook answered, but not with success: worth another try."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_escape(text: str) -> str:
    """User text as Slack shows it literally: no mentions (<!channel>), no links of its own."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(event: str, text: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The body of an event: its "data" may carry a "url", which the text links to.

    The text carries what people typed (titles, notes), so Slack's control
    characters in it are escaped; the link to the app is the only markup.
    """
    link = data.get("url", "")
    text = slack_escape(text)
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
    """Post one delivery unless it was already sent or given up; True when this call sent it.

    A post that cannot succeed is marked failed and False is returned; one
    that may succeed later raises OSError (after the attempt is saved), so
    that the caller tries again, until MAX_ATTEMPTS.
    """
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
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SquadPlanner",
            EVENT_HEADER: delivery.event,
            SIGNATURE_HEADER: sign(delivery.squad.webhook_secret, body),
        }
        delivery.attempts += 1
        failure: OSError | None = None
        try:
            delivery.response_status = egress.post(delivery.url, body, headers, timeout=10)
        except egress.Refused as error:
            _give_up(delivery, f"Refused: {error}")
            return False
        except DatabaseError:
            raise
        except OSError as error:
            failure = error
        except Exception as error:
            # Unexpected, so it would come back on every try: final, with its traceback.
            logger.exception("Webhook delivery %s failed for good", delivery.pk)
            _give_up(delivery, f"{type(error).__name__}: {error}")
            return False
        status = delivery.response_status
        if failure is None and status is not None and not 200 <= status < 300:
            if 400 <= status < 500 and status not in _RETRYABLE_4XX:
                _give_up(delivery, f"HTTP {status}: the hook refuses this post")
                return False
            failure = DeliveryFailed(f"HTTP {status}")
        if failure is None:
            delivery.status = WebhookDelivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        else:
            delivery.last_error = (str(failure) or type(failure).__name__)[:300]
            if delivery.attempts >= MAX_ATTEMPTS:
                _give_up(delivery, f"Gave up after {delivery.attempts} attempts: {failure}")
                return False
        delivery.save()
    # Raised after the transaction commits the attempt, so the log keeps it.
    if failure is not None:
        raise failure
    return True


def _give_up(delivery: WebhookDelivery, reason: str) -> None:
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.last_error = reason[:300]
    delivery.save()


def mark_failed(delivery_id: int, error: str) -> None:
    """Give a delivery up, with the reason: a failed one is never queued again."""
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(
        status=WebhookDelivery.Status.SENT
    ).update(status=WebhookDelivery.Status.FAILED, last_error=error[:300])
