"""Signed events to a squad's webhook: phase moves and review outcomes.

The body is Slack-compatible JSON (a "text", plus "event" and "data" for
machines); the header X-Squad-Planner-Signature carries
"sha256=<HMAC-SHA256 of the body with the squad's webhook secret>". Every
delivery is a row: tech leads see the log, and a failed one is retried by
Celery with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from planning.models import WebhookDelivery
from squads.models import Squad

SIGNATURE_HEADER = "X-Squad-Planner-Signature"
EVENT_HEADER = "X-Squad-Planner-Event"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue_event(squad: Squad, event: str, text: str, data: dict) -> WebhookDelivery | None:
    """Record an event for the squad's webhook and post it once the transaction commits."""
    if not squad.webhook_url:
        return None
    link = data.get("url", "")
    payload = {
        "text": f"{text} <{link}|Open in Squad Planner>" if link else text,
        "event": event,
        "data": data,
        "sent_at": timezone.now().isoformat(),
    }
    delivery = WebhookDelivery.objects.create(
        squad=squad, event=event, url=squad.webhook_url, payload=payload
    )

    def enqueue() -> None:
        from planning.tasks import deliver_squad_webhook

        deliver_squad_webhook.delay(delivery.pk)

    transaction.on_commit(enqueue)
    return delivery


def post_delivery(delivery_id: int) -> bool:
    """Post one delivery unless it was already sent. Raises on failure, so the task retries."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("squad")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status == WebhookDelivery.Status.SENT:
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
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(
        status=WebhookDelivery.Status.SENT
    ).update(status=WebhookDelivery.Status.FAILED, last_error=error[:300])


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def on_phase_changed(sender, milestone, actor, from_phase, to_phase, note, **kwargs) -> None:
    """Receiver of planning.services.phase_changed (sent after commit)."""
    from planning.workflow import Phase

    squad = milestone.project.squad
    verb = (
        "moved on to"
        if Phase.values.index(to_phase) > Phase.values.index(from_phase)
        else "moved back to"
    )
    with transaction.atomic():
        queue_event(
            squad,
            "milestone.phase_changed",
            f"{actor.display_name} {verb} {Phase(to_phase).label}: {milestone.project.name} M{milestone.number} “{milestone.title}”"
            + (f" ({note})" if note else "."),
            {
                "milestone": milestone.pk,
                "project": milestone.project_id,
                "number": milestone.number,
                "title": milestone.title,
                "from": from_phase,
                "to": to_phase,
                "note": note,
                "actor": actor.username,
                "url": absolute(milestone.get_absolute_url()),
            },
        )
