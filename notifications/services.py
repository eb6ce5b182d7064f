"""Messages for people: written one at a time by the services, in bulk by the reminder sweep.

Writing a message never sends it: `notify` asks `notifications.delivery` to
queue its email once the transaction commits, and the sweep queues the whole
outbox after writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.bulk import insert_new
from notifications.delivery import queue_on_commit
from notifications.models import Notification

if TYPE_CHECKING:
    from accounts.models import User


def email_mode_for(user: User) -> str:
    if not user.email:
        return Notification.Email.NONE
    if user.reminder_delivery == user.ReminderDelivery.DAILY_DIGEST:
        return Notification.Email.DIGEST
    return Notification.Email.PENDING


def absolute(link: str) -> str:
    """A link of the site as a full URL, for emails and webhooks."""
    return f"{settings.SITE_URL}{link}" if link.startswith("/") else link


def notify(
    recipient: User,
    kind: str,
    text: str,
    link: str = "",
    *,
    dedupe_key: str | None = None,
    calendar: bytes = b"",
) -> Notification | None:
    """Put a message in one person's inbox; its email is queued once the transaction commits.

    With a `dedupe_key` that already exists nothing new is made and None is returned.
    """
    fields = {
        "recipient": recipient,
        "kind": kind,
        "text": text[:500],
        "link": link,
        "email": email_mode_for(recipient),
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
    if notification.email == Notification.Email.PENDING:
        queue_on_commit(notification=notification)
    return notification


@dataclass(frozen=True)
class Message:
    """One message of a bulk write, named by its unique dedupe key."""

    recipient_id: int
    kind: str
    text: str
    link: str
    dedupe_key: str


_COLUMNS = {
    "recipient_id": "bigint[]",
    "kind": "text[]",
    "text": "text[]",
    "link": "text[]",
    "dedupe_key": "text[]",
    "email": "text[]",
    "email_error": "text[]",
    "calendar": "text[]",
}


def notify_many(messages: Sequence[Message], now: datetime | None = None) -> int:
    """Write every message whose dedupe key is new, set-based; return how many were new.

    Nothing is queued here: the caller (the sweep) queues the whole outbox next.
    """
    if not messages:
        return 0
    now = now or timezone.now()
    people = get_user_model().objects.in_bulk({m.recipient_id for m in messages})
    modes = {pk: email_mode_for(person) for pk, person in people.items()}
    rows = [
        {
            "recipient_id": m.recipient_id,
            "kind": m.kind,
            "text": m.text[:500],
            "link": m.link,
            "dedupe_key": m.dedupe_key,
            "email": modes.get(m.recipient_id, Notification.Email.NONE),
            "email_error": "",
            "calendar": "",
        }
        for m in messages
    ]
    return insert_new(Notification, rows, _COLUMNS, now)


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
