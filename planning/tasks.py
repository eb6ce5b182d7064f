"""Celery tasks of the planning app: the reminder sweep and the deliveries it hands out."""

from __future__ import annotations

import logging
import smtplib
import urllib.error

from celery import shared_task

from planning.services import notifications, reminders, webhooks

logger = logging.getLogger(__name__)


@shared_task(name="planning.sweep_reminders")
def sweep_reminders() -> dict:
    """Write what the six rules find due, then claim and queue every undelivered message.

    The second step also finds deliveries claimed earlier whose task was lost.
    """
    written = reminders.write_reminders()
    queued = notifications.claim_and_enqueue()
    logger.info(
        "Reminder sweep: %s due, %s new, %s deliveries queued", written.due, written.created, queued
    )
    return {"due": written.due, "created": written.created, "queued": queued}


@shared_task(
    name="planning.deliver_email",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def deliver_email(notification_id: int) -> bool:
    return notifications.send_email(notification_id)


@shared_task(
    name="planning.deliver_webhook",
    acks_late=True,
    autoretry_for=(urllib.error.URLError, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def deliver_webhook(notification_id: int) -> bool:
    return notifications.send_webhook(notification_id)


@shared_task(name="planning.send_daily_digests")
def send_daily_digests() -> int:
    """One digest email to each person who chose the daily digest and has news."""
    from accounts.models import User
    from planning.models import Notification

    people = User.objects.filter(
        pk__in=Notification.objects.filter(
            email=Notification.Email.DIGEST, emailed_at__isnull=True
        ).values("recipient_id")
    )
    return sum(notifications.send_digest(person) for person in people)


@shared_task(
    name="planning.deliver_squad_webhook",
    bind=True,
    acks_late=True,
    max_retries=8,
)
def deliver_squad_webhook(self, delivery_id: int) -> bool:
    """Post a signed event; on failure retry with backoff, and after the last try mark it failed."""
    try:
        return webhooks.post_delivery(delivery_id)
    except (urllib.error.URLError, OSError) as error:
        if self.request.retries >= self.max_retries:
            webhooks.mark_failed(delivery_id, str(error))
            return False
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 1800)) from error
