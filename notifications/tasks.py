"""Celery tasks of the notifications app: one delivery each, and the daily digests.

Only `notifications.delivery` queues the delivery tasks; they send at most
once however often they run.
"""

from __future__ import annotations

import smtplib
import urllib.error

from celery import Task, shared_task

from notifications import mail, webhooks


@shared_task(
    name="notifications.deliver_email",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def deliver_email(notification_id: int) -> bool:
    return mail.send_email(notification_id)


@shared_task(name="notifications.deliver_webhook", bind=True, acks_late=True, max_retries=8)
def deliver_webhook(self: Task, delivery_id: int) -> bool:
    """Post a signed event; on failure retry with backoff, and after the last try mark it failed."""
    try:
        return webhooks.post_delivery(delivery_id)
    except (urllib.error.URLError, OSError) as error:
        # None would mean retrying for ever, as Celery reads it.
        if self.max_retries is not None and self.request.retries >= self.max_retries:
            webhooks.mark_failed(delivery_id, str(error))
            return False
        raise self.retry(exc=error, countdown=min(30 * 2**self.request.retries, 1800)) from error


@shared_task(name="notifications.send_daily_digests")
def send_daily_digests() -> int:
    """One digest email to each person who chose the daily digest and has news."""
    return sum(mail.send_digest(person) for person in mail.people_with_a_digest())
