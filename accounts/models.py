from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who signs in: their name as they like it shown, and how reminders reach them."""

    class ReminderDelivery(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately, one email per reminder"
        DAILY_DIGEST = "daily_digest", "One daily digest email"

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    full_name = models.CharField(max_length=150, blank=True)
    reminder_delivery = models.CharField(
        max_length=20, choices=ReminderDelivery.choices, default=ReminderDelivery.IMMEDIATE
    )

    REQUIRED_FIELDS = ["email"]

    # django-stubs does not declare AbstractUser.Meta, which Django defines.
    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.username
