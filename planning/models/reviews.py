from __future__ import annotations

from django.conf import settings
from django.db import models

from planning.models.milestone import Milestone


class DesignReview(models.Model):
    """One round of the squad's review of a milestone's design."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="reviews")
    round = models.PositiveIntegerField(editable=False)
    scheduled_for = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=60)
    location = models.CharField(max_length=300, blank=True, help_text="A room or a call link.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    invitees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_invitations"
    )
    reviewed_revisions = models.JSONField(
        default=dict, blank=True, help_text="Artifact kind → revision number, taken at opening."
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["milestone", "-round"]
        constraints = [
            models.UniqueConstraint(fields=["milestone", "round"], name="review_round_unique"),
        ]
        indexes = [models.Index(fields=["status", "scheduled_for"])]

    def __str__(self) -> str:
        return f"Design review {self.round} of {self.milestone}"
