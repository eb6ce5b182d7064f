"""The one way out: claim what is undelivered and queue one task for each, after commit.

`notify()` and `queue_event()` only write rows and ask, once per transaction,
for what they wrote to be queued when it commits (`queue_on_commit`). The
reminder sweep and `manage.py send_reminders` queue the whole outbox, which
also takes back claims whose task was lost. Nothing else claims or queues a
delivery, and this is the only module of the app that imports the tasks.

Queueing never keeps a request waiting on the broker: each task is published
once, with short timeouts and no retry. What could not be published is
released (its claim cleared), so it stays in the outbox and the next sweep
sends it; after a failure the broker is left alone for a few seconds.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from notifications import bulk
from notifications.models import Notification, WebhookDelivery

logger = logging.getLogger(__name__)

# A claimed delivery not done after this long is claimed again by the next sweep:
# its task was lost (a broker restart, a killed worker).
CLAIM_LEASE = timedelta(minutes=10)
# How a task is published: one try, and a broker that does not answer at once is away.
PUBLISH_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.5, "socket_timeout": 1.0}
PUBLISH_CONNECT_TIMEOUT = 1.0
# Seconds to leave the broker alone after it failed, in this process.
BROKER_BACK_OFF = 5.0
_broker_away_until = 0.0


class Claimed(NamedTuple):
    """The ids one claim took: notifications to email, webhook deliveries to post."""

    emails: list[int]
    webhooks: list[int]

    @property
    def total(self) -> int:
        return len(self.emails) + len(self.webhooks)


def _unclaimed(field: str, stale: datetime) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": stale})


def _claim(candidates: QuerySet[Model], field: str, now: datetime) -> list[int]:
    """Stamp the candidates that no other sweep holds (SKIP LOCKED) and return their ids.

    On PostgreSQL one UPDATE … RETURNING does it whatever the number of rows;
    elsewhere a select and an update in one transaction.
    """
    model = candidates.model
    locked = candidates.select_for_update(skip_locked=True).values("pk")
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(bulk.column(model, field))
        with transaction.atomic(), connection.cursor() as cursor:
            try:
                subquery, params = locked.query.sql_with_params()
            except EmptyResultSet:
                return []
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE id IN ({subquery}) RETURNING id",
                [now, *params],
            )
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic():
        ids = [row["pk"] for row in locked]
        if ids:
            model._default_manager.filter(pk__in=ids).update(**{field: now})
    return ids


def claim_deliveries(
    notifications: QuerySet[Notification] | None = None,
    deliveries: QuerySet[WebhookDelivery] | None = None,
) -> Claimed:
    """Claim every undelivered email among `notifications` and post among `deliveries`.

    None stands for the whole table. A claim stamps the row, so another sweep
    skips it; a claim older than CLAIM_LEASE counts as lost (a broker restart,
    a killed worker) and is taken again. Only pending rows are claimed: one
    sent, or marked failed, is never queued again.
    """
    notifications = Notification.objects.all() if notifications is None else notifications
    deliveries = WebhookDelivery.objects.all() if deliveries is None else deliveries
    now = timezone.now()
    stale = now - CLAIM_LEASE
    emails = _claim(
        notifications.filter(email=Notification.Email.PENDING, emailed_at__isnull=True).filter(
            _unclaimed("email_claimed_at", stale)
        ),
        "email_claimed_at",
        now,
    )
    webhooks = _claim(
        deliveries.filter(status=WebhookDelivery.Status.PENDING).filter(
            _unclaimed("claimed_at", stale)
        ),
        "claimed_at",
        now,
    )
    return Claimed(emails, webhooks)


def release(claimed: Claimed) -> None:
    """Clear these claims, so that the next sweep (or run) takes the rows again at once.

    Should another claim have been taken meanwhile, clearing it costs nothing:
    a task sends at most once.
    """
    if claimed.emails:
        Notification.objects.filter(
            pk__in=claimed.emails, email=Notification.Email.PENDING, emailed_at__isnull=True
        ).update(email_claimed_at=None)
    if claimed.webhooks:
        WebhookDelivery.objects.filter(
            pk__in=claimed.webhooks, status=WebhookDelivery.Status.PENDING
        ).update(claimed_at=None)


def broker_away() -> bool:
    return time.monotonic() < _broker_away_until


def _publish(claimed: Claimed) -> int:
    """Publish one task per claimed id; release what could not be published. Returns how many went.

    Never raises: the rows are safe in the database whatever the broker does.
    """
    # The one import of the tasks, made here so that the tasks may import the services.
    from notifications.tasks import deliver_email, deliver_webhook

    global _broker_away_until
    emails = webhooks = 0
    if not broker_away():
        try:
            # A connection of its own, with the options above, and no retry.
            with deliver_email.app.connection_for_write(
                transport_options=PUBLISH_OPTIONS, connect_timeout=PUBLISH_CONNECT_TIMEOUT
            ) as connection:
                producer = connection.Producer(auto_declare=False)
                for pk in claimed.emails:
                    deliver_email.apply_async((pk,), producer=producer, retry=False)
                    emails += 1
                for pk in claimed.webhooks:
                    deliver_webhook.apply_async((pk,), producer=producer, retry=False)
                    webhooks += 1
        except Exception as error:
            # Whatever the broker raised, the rows stay in the outbox for the next sweep.
            _broker_away_until = time.monotonic() + BROKER_BACK_OFF
            logger.warning(
                "Broker unavailable (%s); %s deliveries left for the next sweep.",
                error,
                claimed.total - emails - webhooks,
            )
    left = Claimed(claimed.emails[emails:], claimed.webhooks[webhooks:])
    if left.total:
        release(left)
    return emails + webhooks


def queue_deliveries(
    notifications: QuerySet[Notification] | None = None,
    deliveries: QuerySet[WebhookDelivery] | None = None,
) -> Claimed:
    """Claim what is undelivered (the whole outbox by default) and queue one task each, after commit.

    The tasks send at most once however often they run. Returns what was
    claimed; what the broker did not take is released again. While the
    broker is known to be away nothing is claimed.
    """
    if broker_away():
        return Claimed([], [])
    claimed = claim_deliveries(notifications, deliveries)
    if claimed.total:
        transaction.on_commit(lambda: _publish(claimed))
    return claimed


class _Written:
    """What one transaction wrote for delivery: queued when, and if, it commits."""

    def __init__(self) -> None:
        self.notifications: set[int] = set()
        self.deliveries: set[int] = set()

    def queue(self) -> None:
        queue_deliveries(
            Notification.objects.filter(pk__in=self.notifications),
            WebhookDelivery.objects.filter(pk__in=self.deliveries),
        )


def queue_on_commit(
    *, notification: Notification | None = None, delivery: WebhookDelivery | None = None
) -> None:
    """Queue this row's delivery once the transaction commits, with the rest it wrote.

    The first row of a transaction registers one on-commit callback, and later
    rows at the same level or inside a savepoint join it. A rolled-back
    savepoint never loses rows written outside it: Django drops only the
    callbacks registered inside it, and the ids of its own rows that joined an
    outer callback find nothing to claim.
    """
    written: _Written | None = None
    db = transaction.get_connection()
    if db.in_atomic_block:
        # Django keeps (savepoint ids, callback, robust) per registered callback;
        # one registered at this level or an enclosing one belongs to this transaction.
        active = set(db.savepoint_ids)
        written = next(
            (
                callback.__self__
                for savepoints, callback, _robust in db.run_on_commit
                if isinstance(getattr(callback, "__self__", None), _Written)
                and savepoints <= active
            ),
            None,
        )
    fresh = written is None
    if written is None:
        written = _Written()
    if notification is not None:
        written.notifications.add(notification.pk)
    if delivery is not None:
        written.deliveries.add(delivery.pk)
    if fresh:
        # Robust: a failure to queue never fails the change that was just committed.
        transaction.on_commit(written.queue, robust=True)
