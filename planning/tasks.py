"""Celery task of the planning app: the reminder sweep, every 15 minutes from beat."""

from __future__ import annotations

import logging

from celery import shared_task

from notifications import delivery
from planning.services import reminders

logger = logging.getLogger(__name__)


@shared_task(name="planning.sweep_reminders")
def sweep_reminders() -> dict:
    """Write what the six rules find due, then queue every undelivered email and webhook post.

    The second step also finds deliveries claimed earlier whose task was lost.
    """
    written = reminders.write_reminders()
    queued = delivery.queue_deliveries().total
    logger.info(
        "Reminder sweep: %s due, %s new, %s webhook events new, %s deliveries queued",
        written.due,
        written.created,
        written.events,
        queued,
    )
    return {"due": written.due, "created": written.created, "queued": queued}
