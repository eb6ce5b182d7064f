from django.conf import settings
from django.db import models
from django.urls import reverse

from squads.models import Squad


class Project(models.Model):
    """A body of work of one squad, planned milestone by milestone."""

    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, help_text="Used in addresses; unique within the squad.")
    summary = models.TextField(blank=True)
    tech_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_projects"
    )
    principal_engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="principal_projects",
        help_text="Vets deferred unknowns; need not be a squad member.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["squad__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "slug"], name="project_slug_unique_in_squad"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "planning:project-detail",
            kwargs={"squad_slug": self.squad.slug, "project_slug": self.slug},
        )
