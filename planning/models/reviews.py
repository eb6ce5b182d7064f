from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.safestring import SafeString

from planning.models.milestone import Milestone
from planning.workflow import ReviewOutcome, ReviewStatus, VerdictChoice


class DesignReview(models.Model):
    """One round of the squad's review of a milestone's design."""

    # Defined once in the workflow, whose guards compare them.
    Status = ReviewStatus
    Outcome = ReviewOutcome

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
    verdicts_due = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When verdicts are due; by default one day after the review's scheduled end.",
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

    def get_absolute_url(self) -> str:
        return reverse(
            "planning:review-detail", kwargs={**self.milestone.url_kwargs(), "round": self.round}
        )

    @property
    def ends_at(self):
        return self.scheduled_for + timedelta(minutes=self.duration_minutes)


class Comment(models.Model):
    """A remark in a design review, on one artifact or on the design as a whole."""

    review = models.ForeignKey(DesignReview, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    artifact_kind = models.CharField(max_length=40, blank=True, help_text="Empty: general.")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField()
    resolved = models.BooleanField(default=False)
    # The revision of its artifact the comment was written on, and the block it names (DESIGN §8):
    # the block's position among the revision's top-level blocks, a fingerprint of its text
    # (to follow it to later revisions) and a short quote (to show once the text is gone).
    revision = models.PositiveIntegerField(null=True, blank=True)
    anchor_block = models.PositiveIntegerField(null=True, blank=True)
    anchor_fingerprint = models.CharField(max_length=64, blank=True)
    anchor_quote = models.CharField(max_length=200, blank=True)
    # A counted reviewer's blocking comment holds close-as-approved until its author resolves it
    # or the project's principal engineer overrules it with a note.
    blocking = models.BooleanField(default=False)
    overruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    overrule_note = models.TextField(blank=True)
    overruled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    # Not columns: the review page sets them for its template.
    thread_replies: list[Comment]
    html: SafeString
    # Where its block is in the artifact's latest revision; outdated when its text is gone.
    place: int | None
    outdated: bool

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["review", "updated_at"]),
            models.Index(
                fields=["review"],
                condition=models.Q(blocking=True, resolved=False, overruled_at__isnull=True),
                name="comment_open_blocking",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.review}"

    @property
    def was_edited(self) -> bool:
        return (self.updated_at - self.created_at).total_seconds() > 1


class Verdict(models.Model):
    """One reviewer's verdict on a review round; changeable while the review is open."""

    Choice = VerdictChoice  # counted by workflow.count_verdicts

    review = models.ForeignKey(DesignReview, on_delete=models.CASCADE, related_name="verdicts")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    verdict = models.CharField(max_length=30, choices=Choice.choices)
    note = models.TextField(blank=True)
    counted = models.BooleanField(
        default=True, help_text="Squad members and the principal engineer count; guests do not."
    )
    revisions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Artifact kind → revision number the verdict was given on (DESIGN §8).",
    )
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismiss_note = models.TextField(blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "reviewer"], name="one_verdict_per_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} by {self.reviewer}"
