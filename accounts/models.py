import time

from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.db import models, transaction

NAMES_VERSION_KEY = "accounts:names-version"


def names_version() -> int:
    """A number that changes whenever someone's shown name may have changed.

    Cached page fragments that show people's names put it in their keys. A
    lost entry comes back as a new number, never an old one.
    """
    return cache.get_or_set(NAMES_VERSION_KEY, time.time_ns, None)


def _names_changed() -> None:
    transaction.on_commit(lambda: cache.set(NAMES_VERSION_KEY, time.time_ns(), None))


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

    class Meta(AbstractUser.Meta):
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is None or {"full_name", "username"} & set(fields):
            _names_changed()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        _names_changed()  # their comments now read "Someone"
        return deleted

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.username
