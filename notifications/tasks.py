"""Celery tasks of the notifications app: one delivery each, and the daily digests.

Only `notifications.delivery` queues the delivery tasks; they send at most
once however often they run. A delivery that fails for good is marked failed
by the service; one that keeps failing for a passing reason is retried with
backoff and, after its last retry, marked failed too, so nothing is retried
forever. Their results are never read, so none is stored: queueing one
touches nothing but the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, shared_task

from notifications import mail, webhooks

logger = logging.getLogger(__name__)

MAX_RETRIES = webhooks.MAX_ATTEMPTS - 1


def _retry_or_give_up(task: Task, error: Exception, give_up: Callable[[str], None]) -> bool:
    tries = task.request.retries + 1
    if task.max_retries is not None and task.request.retries >= task.max_retries:
        give_up(f"Gave up after {tries} attempt{'s' if tries != 1 else ''}: {error}")
        return False
    raise task.retry(exc=error, countdown=min(30 * 2**task.request.retries, 1800)) from error


@shared_task(
    name="notifications.deliver_email",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def deliver_email(self: Task, notification_id: int) -> bool:
    try:
        return mail.send_email(notification_id)
    except mail.TRANSIENT_ERRORS as error:
        return _retry_or_give_up(
            self, error, lambda reason: mail.mark_failed(notification_id, reason)
        )


@shared_task(
    name="notifications.deliver_webhook",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def deliver_webhook(self: Task, delivery_id: int) -> bool:
    """Post a signed event; on failure retry with backoff, and after the last try mark it failed."""
    try:
        return webhooks.post_delivery(delivery_id)
    except OSError as error:
        return _retry_or_give_up(
            self, error, lambda reason: webhooks.mark_failed(delivery_id, reason)
        )


@shared_task(name="notifications.send_daily_digests")
def send_daily_digests() -> int:
    """One digest email to each person who chose the daily digest and has news.

    A server that is away for one person's digest does not keep the others
    from theirs; what was not sent stays for tomorrow.
    """
    sent = 0
    for person in mail.people_with_a_digest():
        try:
            sent += mail.send_digest(person)
        except mail.TRANSIENT_ERRORS as error:
            logger.warning("The digest of %s is left for the next run: %s", person.username, error)
    return sent
