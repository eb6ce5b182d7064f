from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from planning.workflow import BreakoutMode

if TYPE_CHECKING:
    from accounts.models import User


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Squad(models.Model):
    """A team that plans its milestones together, with its own planning policy."""

    BreakoutMode = BreakoutMode  # defined in the workflow, whose breakout guard reads it

    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=60, unique=True, help_text="Used in addresses: letters, digits and hyphens."
    )
    description = models.TextField(blank=True)
    breakout_mode = models.CharField(
        max_length=20, choices=BreakoutMode.choices, default=BreakoutMode.ENGINEER
    )
    remind_after_days = models.PositiveSmallIntegerField(
        "remind owners after (days)",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Nudge the owner of an untouched open unknown after this many days.",
    )
    escalate_after_days = models.PositiveSmallIntegerField(
        "escalate after (days)",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text="Tell the tech lead about an unsettled unknown untouched this long.",
    )
    vendor_followup_days = models.PositiveSmallIntegerField(
        "vendor follow-up after (days)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Remind the owner to chase a vendor not heard from for this many days.",
    )
    min_review_approvals = models.PositiveSmallIntegerField(
        "approvals a review needs",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Counted approvals a design review needs before it can close approved.",
    )
    require_principal_approval = models.BooleanField(
        "require the principal engineer's approval",
        default=False,
        help_text="A design review closes approved only with the project's principal engineer's approval.",
    )
    webhook_url = models.URLField(
        "webhook URL",
        blank=True,
        help_text="Optional Slack-compatible incoming webhook for phase moves, review outcomes, escalations and overdue blockers.",
    )
    webhook_secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        help_text="Signs every event posted to the webhook (HMAC-SHA256).",
    )
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="squads"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remind_after_days__gte=1)
                & models.Q(escalate_after_days__gte=1)
                & models.Q(vendor_followup_days__gte=1)
                & models.Q(min_review_approvals__gte=1),
                name="squad_policy_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("squads:detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if (
            self.remind_after_days
            and self.escalate_after_days
            and self.escalate_after_days < self.remind_after_days
        ):
            raise ValidationError(
                {"escalate_after_days": "Escalate no sooner than the owner is reminded."}
            )


class Membership(models.Model):
    """A person's place in a squad and the role that decides what they may do there."""

    class Role(models.TextChoices):
        TECH_LEAD = "tech_lead", "Tech lead"
        ENGINEER = "engineer", "Engineer"
        PRODUCT = "product", "Product representative"

    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["squad", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "user"], name="one_membership_per_squad_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.squad} ({self.get_role_display()})"
