"""Email: one notification now, or a person's daily digest. Each sends at most once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Notification
from notifications.services import absolute

if TYPE_CHECKING:
    from accounts.models import User


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
            body=render_to_string("notifications/email/notification.txt", context),
            to=[notification.recipient.email],
        )
        message.attach_alternative(
            render_to_string("notifications/email/notification.html", context), "text/html"
        )
        if notification.calendar:
            message.attach("invite.ics", notification.calendar, "text/calendar; method=REQUEST")
        message.send()
        notification.email = Notification.Email.SENT
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["email", "emailed_at"])
        return True


def send_digest(user: User, now: datetime | None = None) -> int:
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
            body=render_to_string("notifications/email/digest.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("notifications/email/digest.html", context), "text/html"
        )
        message.send()
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(
            email=Notification.Email.SENT, emailed_at=now
        )
        return len(pending)


def people_with_a_digest() -> QuerySet[User]:
    """Everyone who chose the daily digest and has news not yet emailed."""
    return get_user_model().objects.filter(
        pk__in=Notification.objects.filter(
            email=Notification.Email.DIGEST, emailed_at__isnull=True
        ).values("recipient_id")
    )
