from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from planning.models.milestone import Milestone


class KickoffMeeting(models.Model):
    """The squad's kick-off for a milestone: a venue for concerns and questions."""

    milestone = models.OneToOneField(Milestone, on_delete=models.CASCADE, related_name="kickoff")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(default=45)
    location = models.CharField(max_length=300, blank=True, help_text="A room or a call link.")
    notes = models.TextField(blank=True, help_text="Markdown.")
    held_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Kick-off of {self.milestone}"


class Concern(models.Model):
    """A concern or question raised at kick-off, answered by the tech lead."""

    class Kind(models.TextChoices):
        CONCERN = "concern", "Concern"
        QUESTION = "question", "Question"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="concerns")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.QUESTION)
    text = models.TextField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="answered") | ~models.Q(answer=""),
                name="answered_concern_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Story(models.Model):
    """A story of the milestone's work, claimed by an engineer and broken into sub-tasks."""

    class Status(models.TextChoices):
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="stories")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_stories",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TODO)
    ticket_url = models.URLField(blank=True, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["milestone", "number"]
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "number"], name="story_number_unique_in_milestone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    def get_absolute_url(self) -> str:
        return (
            reverse("planning:breakout", kwargs=self.milestone.url_kwargs())
            + f"#story-{self.number}"
        )

    @property
    def key(self) -> str:
        return f"S-{self.number}"


class Subtask(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="subtasks")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["story", "created_at", "id"]

    def __str__(self) -> str:
        return self.title


class BreakoutSession(models.Model):
    """In meeting mode: product and engineers break the stories out together."""

    milestone = models.OneToOneField(
        Milestone, on_delete=models.CASCADE, related_name="breakout_session"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(default=60)
    location = models.CharField(max_length=300, blank=True)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    held_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Breakout session of {self.milestone}"
