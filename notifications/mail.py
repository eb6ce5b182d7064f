"""Email: one notification now, or a person's daily digest. Each sends at most once.

A message that can never be sent (a header it cannot carry, a recipient the
server refuses for good) is marked failed with the reason and never tried
again; a server that is away raises, so that the caller tries again later.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Notification
from notifications.services import absolute

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Line breaks, NUL and every other control character, with the blanks around them.
_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
# What a server that is away, or briefly unwilling, raises: worth another try later.
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError)


def header_text(text: str, limit: int = 120) -> str:
    """`text` fit for an email header: one line, every run of control characters one space."""
    return _CONTROLS.sub(" ", text).strip()[:limit]


def is_permanent(error: Exception) -> bool:
    """True when sending again cannot help: a malformed message, or a refusal the server calls final.

    Only 5xx answers about this message count (its recipient, its content);
    4xx answers (a full mailbox, greylisting) are worth retrying, and so is
    any refusal that concerns the server itself (login, sender, connection),
    which its operator can put right.
    """
    if isinstance(error, BadHeaderError | ValueError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return not isinstance(error, TRANSIENT_ERRORS)


def describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = "; ".join(
            f"{address} refused ({code} {reply.decode(errors='replace')})"
            for address, (code, reply) in error.recipients.items()
        )
        return f"Recipient refused: {refusals}"[:300]
    if isinstance(error, BadHeaderError):
        return f"Bad header: {error}"[:300]
    return f"{type(error).__name__}: {error}"[:300]


def _log_permanent(error: Exception, what: str) -> None:
    if isinstance(error, BadHeaderError | ValueError | smtplib.SMTPException):
        logger.warning("%s failed for good: %s", what, describe(error))
    else:
        # Unexpected, so it would come back on every try: final too, with its traceback.
        logger.exception("%s failed for good: %s", what, describe(error))


def mark_failed(notification_id: int, reason: str) -> None:
    """Give an email up, with the reason: a failed one is never queued again."""
    Notification.objects.filter(pk=notification_id, email=Notification.Email.PENDING).update(
        email=Notification.Email.FAILED, email_error=reason[:300]
    )


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
        try:
            _message(notification).send()
        except DatabaseError:
            raise
        except Exception as error:
            if not is_permanent(error):
                raise
            _log_permanent(error, f"Email {notification.pk}")
            notification.email = Notification.Email.FAILED
            notification.email_error = describe(error)
            notification.save(update_fields=["email", "email_error"])
            return False
        notification.email = Notification.Email.SENT
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["email", "emailed_at"])
        return True


def _message(notification: Notification) -> EmailMultiAlternatives:
    context = {"notification": notification, "url": absolute(notification.link)}
    message = EmailMultiAlternatives(
        subject=f"[Squad Planner] {header_text(notification.text)}",
        body=render_to_string("notifications/email/notification.txt", context),
        to=[notification.recipient.email],
    )
    message.attach_alternative(
        render_to_string("notifications/email/notification.html", context), "text/html"
    )
    if notification.calendar:
        message.attach("invite.ics", notification.calendar, "text/calendar; method=REQUEST")
    return message


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
        rows = Notification.objects.filter(pk__in=[n.pk for n in pending])
        try:
            message.send()
        except DatabaseError:
            raise
        except Exception as error:
            if not is_permanent(error):
                raise
            _log_permanent(error, f"The digest of {user.username}")
            rows.update(email=Notification.Email.FAILED, email_error=describe(error))
            return 0
        rows.update(email=Notification.Email.SENT, emailed_at=now)
        return len(pending)


def people_with_a_digest() -> QuerySet[User]:
    """Everyone who chose the daily digest and has news not yet emailed."""
    return get_user_model().objects.filter(
        pk__in=Notification.objects.filter(
            email=Notification.Email.DIGEST, emailed_at__isnull=True
        ).values("recipient_id")
    )
