from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from planning.models.project import Project
from planning.workflow import ON_NEED_KINDS, ArtifactKind, ArtifactStatus, Phase


class Milestone(models.Model):
    """One milestone of a project, planned phase by phase."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    goal = models.TextField(blank=True, help_text="What the milestone delivers, in a few lines.")
    tech_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_milestones"
    )
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.ARCHITECTURE)
    due_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: the API's milestone detail sets it for its serializer.
    readiness: dict[str, Any]

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="milestone_number_unique_in_project"
            ),
        ]
        indexes = [models.Index(fields=["tech_lead", "phase"])]

    def __str__(self) -> str:
        return f"M{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("planning:milestone-detail", kwargs=self.url_kwargs())

    def url_kwargs(self) -> dict:
        return {
            "squad_slug": self.project.squad.slug,
            "project_slug": self.project.slug,
            "number": self.number,
        }

    @property
    def phase_index(self) -> int:
        return Phase.values.index(self.phase)


class Artifact(models.Model):
    """One design artifact of a milestone: Markdown, diagrams drawn from mermaid blocks."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=40, choices=ArtifactKind.choices)
    status = models.CharField(
        max_length=10, choices=ArtifactStatus.choices, default=ArtifactStatus.MISSING
    )
    body = models.TextField(blank=True)
    revision = models.PositiveIntegerField(
        default=0, help_text="Number of the latest revision; the concurrency token of edits."
    )
    needed = models.BooleanField(null=True, blank=True)
    not_needed_reason = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    # Not a column: the milestone page sets it for its template.
    changed_since_review: bool

    class Meta:
        ordering = ["milestone", "id"]
        constraints = [
            models.UniqueConstraint(fields=["milestone", "kind"], name="one_artifact_per_kind"),
            models.CheckConstraint(
                condition=~models.Q(needed=False) | ~models.Q(not_needed_reason=""),
                name="not_needed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.milestone}"

    def get_absolute_url(self) -> str:
        return reverse(
            "planning:artifact-edit", kwargs={**self.milestone.url_kwargs(), "kind": self.kind}
        )

    @property
    def is_on_need(self) -> bool:
        return self.kind in ON_NEED_KINDS

    @property
    def is_ready(self) -> bool:
        return self.status == ArtifactStatus.READY

    @property
    def is_waived(self) -> bool:
        return self.is_on_need and self.needed is False


class ArtifactRevision(models.Model):
    """The body of an artifact as one save left it. Never changed, never deleted."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["artifact", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "number"], name="revision_number_unique_per_artifact"
            ),
        ]

    def __str__(self) -> str:
        return f"r{self.number} of {self.artifact}"


class Activity(models.Model):
    """One state change of a milestone: its timeline and audit trail."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    verb = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["milestone", "-created_at"])]

    def __str__(self) -> str:
        return self.summary
