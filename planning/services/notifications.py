"""Notifications: the inbox entry, and its delivery by email (now or in a digest) and webhook."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from planning.models import Notification

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# A claimed delivery not done after this long is claimed again by the next sweep:
# its task was lost (a broker restart, a killed worker).
CLAIM_LEASE = timedelta(minutes=10)


def email_mode_for(user: User) -> str:
    if not user.email:
        return Notification.Email.NONE
    if user.reminder_delivery == user.ReminderDelivery.DAILY_DIGEST:
        return Notification.Email.DIGEST
    return Notification.Email.PENDING


def absolute(link: str) -> str:
    return f"{settings.SITE_URL}{link}" if link.startswith("/") else link


def notify(
    recipient: User,
    kind: str,
    text: str,
    link: str = "",
    *,
    dedupe_key: str | None = None,
    webhook_url: str = "",
    calendar: bytes = b"",
) -> Notification | None:
    """Put a message in one person's inbox and deliver it once the transaction commits.

    With a `dedupe_key` that already exists nothing new is made and None is returned.
    """
    fields = {
        "recipient": recipient,
        "kind": kind,
        "text": text[:500],
        "link": link,
        "email": email_mode_for(recipient),
        "webhook_url": webhook_url,
        "calendar": calendar.decode() if calendar else "",
    }
    if dedupe_key is None:
        notification = Notification.objects.create(**fields)
    else:
        notification, created = Notification.objects.get_or_create(
            dedupe_key=dedupe_key, defaults=fields
        )
        if not created:
            return None
    transaction.on_commit(
        lambda: claim_and_enqueue(Notification.objects.filter(pk=notification.pk))
    )
    return notification


def _unclaimed(field: str, stale) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": stale})


def _claim(candidates, field: str, now) -> list[int]:
    """Stamp the candidates that no other sweep holds (SKIP LOCKED) and return their ids.

    On PostgreSQL one UPDATE … RETURNING does it whatever the number of rows;
    elsewhere a select and an update in one transaction.
    """
    locked = candidates.select_for_update(skip_locked=True).values("pk")
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Notification._meta.db_table)
        column = connection.ops.quote_name(Notification._meta.get_field(field).column)
        with transaction.atomic(), connection.cursor() as cursor:
            subquery, params = locked.query.sql_with_params()
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE id IN ({subquery}) RETURNING id",
                [now, *params],
            )
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic():
        ids = [row["pk"] for row in locked]
        if ids:
            Notification.objects.filter(pk__in=ids).update(**{field: now})
    return ids


def claim_deliveries(candidates=None) -> tuple[list[int], list[int]]:
    """Claim every undelivered email and webhook among `candidates`.

    A claim stamps the row, so another sweep skips it; a claim older than
    CLAIM_LEASE counts as lost (a broker restart, a killed worker) and is taken
    again. Returns the ids claimed for email and for the webhook.
    """
    candidates = Notification.objects.all() if candidates is None else candidates
    now = timezone.now()
    stale = now - CLAIM_LEASE
    email_ids = _claim(
        candidates.filter(email=Notification.Email.PENDING, emailed_at__isnull=True).filter(
            _unclaimed("email_claimed_at", stale)
        ),
        "email_claimed_at",
        now,
    )
    hook_ids = _claim(
        candidates.exclude(webhook_url="")
        .filter(webhook_sent_at__isnull=True)
        .filter(_unclaimed("webhook_claimed_at", stale)),
        "webhook_claimed_at",
        now,
    )
    return email_ids, hook_ids


def claim_and_enqueue(candidates=None) -> int:
    """Claim the deliveries among `candidates` and queue one Celery task each, after commit.

    The tasks send at most once however often they run. Returns how many were queued.
    """
    from planning.tasks import deliver_email, deliver_webhook

    email_ids, hook_ids = claim_deliveries(candidates)

    def enqueue() -> None:
        for pk in email_ids:
            deliver_email.delay(pk)
        for pk in hook_ids:
            deliver_webhook.delay(pk)

    transaction.on_commit(enqueue)
    return len(email_ids) + len(hook_ids)


def send_email(notification_id: int) -> bool:
    """Email one notification unless it was already emailed; True when this call sent it.

    The row is locked while sending, so a second delivery of the same
    notification waits, then sees `emailed_at` and sends nothing.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.email != Notification.Email.PENDING:
            return False
        if notification.emailed_at is not None:
            return False
        context = {"notification": notification, "url": absolute(notification.link)}
        message = EmailMultiAlternatives(
            subject=f"[Squad Planner] {notification.text[:120]}",
            body=render_to_string("planning/email/notification.txt", context),
            to=[notification.recipient.email],
        )
        message.attach_alternative(
            render_to_string("planning/email/notification.html", context), "text/html"
        )
        if notification.calendar:
            message.attach("invite.ics", notification.calendar, "text/calendar; method=REQUEST")
        message.send()
        notification.email = Notification.Email.SENT
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["email", "emailed_at"])
        return True


def send_webhook(notification_id: int) -> bool:
    """Post one notification to its squad webhook (Slack-compatible JSON), at most once."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.webhook_sent_at or not notification.webhook_url:
            return False
        text = notification.text
        if notification.link:
            text = f"{text} <{absolute(notification.link)}|Open in Squad Planner>"
        payload = json.dumps({"text": text}).encode()
        request = urllib.request.Request(
            notification.webhook_url,
            data=payload,
            headers={"Content-Type": "application/json", "User-Agent": "SquadPlanner"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            if answer.status >= 300:
                raise urllib.error.HTTPError(
                    notification.webhook_url, answer.status, "webhook refused", answer.headers, None
                )
        notification.webhook_sent_at = timezone.now()
        notification.save(update_fields=["webhook_sent_at"])
        return True


def send_digest(user: User, now=None) -> int:
    """One email with every digest notification of `user` not yet emailed; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update()
            .filter(recipient=user, email=Notification.Email.DIGEST, emailed_at__isnull=True)
            .order_by("created_at")
        )
        if not pending or not user.email:
            return 0
        context = {
            "user": user,
            "items": [(n, absolute(n.link)) for n in pending],
            "site_url": settings.SITE_URL,
        }
        message = EmailMultiAlternatives(
            subject=f"[Squad Planner] Your daily digest: {len(pending)} update"
            + ("s" if len(pending) != 1 else ""),
            body=render_to_string("planning/email/digest.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("planning/email/digest.html", context), "text/html"
        )
        message.send()
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(
            email=Notification.Email.SENT, emailed_at=now
        )
        return len(pending)


def mark_read(user: User, notification_id: int) -> bool:
    return bool(
        Notification.objects.filter(
            pk=notification_id, recipient=user, read_at__isnull=True
        ).update(read_at=timezone.now())
    )


def mark_all_read(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
