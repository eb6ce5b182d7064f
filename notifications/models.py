"""What Squad Planner tells people and squads, and what became of each message.

A Notification is one person's inbox entry and the email that carries it; a
WebhookDelivery is one signed event for a squad's webhook. Both are outbox
rows: `notifications.delivery` claims the undelivered ones and queues a task
for each, and their status says whether anything is left to send.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from squads.models import Squad


class Notification(models.Model):
    """A message for one person: their inbox entry, and the email that delivers it.

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
        VERDICT_STALE = "verdict_stale", "Your verdict is on an earlier revision"
        VERDICT_DISMISSED = "verdict_dismissed", "Your request for changes was dismissed"
        CONCERN_ANSWERED = "concern_answered", "Concern answered"
        SUBTASK_ASSIGNED = "subtask_assigned", "Sub-task assigned"
        MEETING_SCHEDULED = "meeting_scheduled", "Meeting scheduled"
        VERDICT_PENDING = "verdict_pending", "Verdict pending"
        BLOCKING_COMMENT = "blocking_comment", "Blocking comment"
        COMMENT_OVERRULED = "comment_overruled", "Blocking comment overruled"

    class Email(models.TextChoices):
        """Where the email stands; only PENDING ones are claimed and sent."""

        PENDING = "pending", "To send now"
        DIGEST = "digest", "For the daily digest"
        SENT = "sent", "Sent"
        NONE = "none", "Not emailed"
        FAILED = "failed", "Failed"

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
    email_error = models.CharField(
        max_length=300, blank=True, help_text="Why the email failed, when it did."
    )
    calendar = models.TextField(blank=True, help_text="An .ics invitation attached to the email.")

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
            # A person's newest first (the inbox's page, the dashboard's unread): read in
            # order, however many they have, not all of them sorted.
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_recent_idx"
            ),
            models.Index(
                fields=["email", "email_claimed_at"],
                name="notification_outbox_idx",
                condition=Q(email__in=["pending", "digest"]),
            ),
            # Emails that failed for good, newest first, for the squads' delivery pages.
            models.Index(
                fields=["-created_at"],
                name="notification_failed_idx",
                condition=Q(email="failed"),
            ),
        ]

    def __str__(self) -> str:
        return self.text


class WebhookDelivery(models.Model):
    """One signed event posted to a squad's webhook, and what became of it.

    Events that a sweep finds (escalations, overdue blockers) carry a unique
    `dedupe_key`, as reminders do, so each is posted once however often it runs.
    """

    class Status(models.TextChoices):
        """Where the post stands; only PENDING ones are claimed and sent."""

        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=40)
    url = models.URLField(max_length=500)
    payload = models.JSONField()
    # NULL, not "", for events without a key: the unique constraint skips NULLs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(
        max_length=300, blank=True, help_text="Why the last attempt failed, or why it was given up."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="webhookdelivery_dedupe_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["squad", "-created_at"], name="webhookdelivery_log_idx"),
            models.Index(
                fields=["status", "claimed_at"],
                name="webhookdelivery_outbox_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.squad} ({self.get_status_display()})"
