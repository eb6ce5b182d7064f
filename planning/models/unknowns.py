from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from planning.models.milestone import Milestone
from planning.workflow import ACTIVE_STATUSES, SETTLED_STATUSES, UnknownPriority, UnknownStatus

# A status filter beside the statuses themselves: what the guards still wait for.
UNSETTLED = "unsettled"


class UnknownQuerySet(models.QuerySet):
    def unsettled(self) -> UnknownQuerySet:
        """Neither resolved nor deferred (a deferral is only ever set by an approval)."""
        return self.exclude(status__in=Unknown.SETTLED_STATUSES)

    def with_status(self, value: str) -> UnknownQuerySet:
        """Those with the status `value`, one of `Unknown.STATUS_FILTERS`."""
        if value == UNSETTLED:
            return self.unsettled()
        return self.filter(status=value)

    def with_priority_rank(self) -> UnknownQuerySet:
        return self.annotate(priority_rank=priority_rank())


def priority_rank(field: str = "priority") -> models.Case:
    """0 for a blocker, up to 3 for low: sorts the most urgent first, from any model through `field`."""
    return models.Case(
        *(
            models.When(**{field: value}, then=models.Value(rank))
            for rank, value in enumerate(UnknownPriority.values)
        ),
        output_field=models.IntegerField(),
    )


class Unknown(models.Model):
    """Something the squad does not know yet that could block the milestone."""

    # Defined once in the workflow, whose guards compare them.
    Priority = UnknownPriority
    Status = UnknownStatus
    SETTLED_STATUSES = SETTLED_STATUSES
    ACTIVE_STATUSES = ACTIVE_STATUSES
    STATUS_FILTERS = [(UNSETTLED, "Unsettled: neither resolved nor deferred"), *Status.choices]

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="unknowns")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True, help_text="Markdown.")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_unknowns",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    from_verdict = models.ForeignKey(
        "planning.Verdict",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conditions",
        help_text="The approval with conditions this unknown is a condition of.",
    )
    vendor = models.CharField(max_length=120, blank=True, help_text="Who we are waiting on.")
    vendor_contacted_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    ticket_url = models.URLField(blank=True, max_length=500)
    last_activity_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UnknownQuerySet.as_manager()

    # Not columns: annotated by the queries, or set by the pages, that show them.
    deferral_pending: bool
    overdue: bool

    class Meta:
        ordering = ["milestone", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "number"], name="unknown_number_unique_in_milestone"
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | ~Q(resolution=""),
                name="resolved_unknown_has_resolution",
            ),
        ]
        indexes = [
            # The reminder sweep reads active unknowns by age.
            models.Index(
                fields=["status", "last_activity_at"],
                name="unknown_sweep_idx",
                condition=Q(status__in=["open", "investigating", "waiting_on_vendor"]),
            ),
            models.Index(fields=["owner", "status"]),
            # The ids of a milestone's unknowns from the index alone: the navigation bar
            # counts a principal engineer's waiting deferrals from their milestones'
            # unknowns, on every page (planning.context_processors).
            models.Index(fields=["milestone", "id"], name="unknown_milestone_ids_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse(
            "planning:unknown-detail", kwargs={**self.milestone.url_kwargs(), "key": self.key}
        )

    @property
    def key(self) -> str:
        return f"U-{self.number}"

    @property
    def is_settled(self) -> bool:
        return self.status in self.SETTLED_STATUSES


class UnknownComment(models.Model):
    """One message in the discussion thread of an unknown."""

    unknown = models.ForeignKey(Unknown, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.unknown.key}"


class DeferralRequest(models.Model):
    """The tech lead's request to answer an unknown later, vetted by the principal engineer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    unknown = models.ForeignKey(Unknown, on_delete=models.CASCADE, related_name="deferrals")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    defer_until = models.CharField(
        max_length=120, help_text="A date or a later milestone, e.g. “M4” or “2027-03-01”."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unknown"],
                condition=Q(status="pending"),
                name="one_pending_deferral_per_unknown",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_note=""),
                name="rejected_deferral_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"Deferral of {self.unknown.key} ({self.get_status_display()})"
