from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """A message for one person: their inbox entry, and what email and webhooks deliver.

    Reminders carry a `dedupe_key` naming (rule, object, recipient, cycle), unique
    in the table, so however often the sweep runs each reminder exists once.
    """

    class Kind(models.TextChoices):
        OWNER_NUDGE = "owner_nudge", "Reminder to the owner"
        ESCALATION = "escalation", "Escalation"
        BLOCKER_OVERDUE = "blocker_overdue", "Blocker overdue"
        VENDOR_FOLLOWUP = "vendor_followup", "Vendor follow-up"
        DEFERRAL_PENDING = "deferral_pending", "Deferral waiting"
        REVIEW_AT_RISK = "review_at_risk", "Review at risk"
        DEFERRAL_REQUESTED = "deferral_requested", "Deferral requested"
        DEFERRAL_DECIDED = "deferral_decided", "Deferral decided"
        UNKNOWN_ASSIGNED = "unknown_assigned", "Unknown assigned"
        REVIEW_INVITED = "review_invited", "Invited to a review"
        REVIEW_OPENED = "review_opened", "Review opened"
        REVIEW_CLOSED = "review_closed", "Review closed"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        CONCERN_ANSWERED = "concern_answered", "Concern answered"
        SUBTASK_ASSIGNED = "subtask_assigned", "Sub-task assigned"
        MEETING_SCHEDULED = "meeting_scheduled", "Meeting scheduled"

    class Email(models.TextChoices):
        PENDING = "pending", "To send now"
        DIGEST = "digest", "For the daily digest"
        SENT = "sent", "Sent"
        NONE = "none", "Not emailed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # NULL, not "", for messages without a key: the unique constraint skips NULLs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.PENDING)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    calendar = models.TextField(blank=True, help_text="An .ics invitation attached to the email.")
    webhook_url = models.URLField(blank=True, max_length=500)
    webhook_claimed_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_dedupe_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["email", "email_claimed_at"],
                name="notification_outbox_idx",
                condition=Q(email__in=["pending", "digest"]),
            ),
        ]

    def __str__(self) -> str:
        return self.text
