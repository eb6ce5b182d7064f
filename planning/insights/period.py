"""The period an insights page looks at, and the one of the same length before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.core.exceptions import ValidationError
from django.utils import timezone

DEFAULT_DAYS = 90
PRESETS = (30, 90, 180, 365)
# Far enough back for any history, near enough that the previous period stays a date.
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)


@dataclass(frozen=True)
class Window:
    """From the start of `since` to the end of `until`, both days counted, in local time."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @cached_property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @cached_property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def overlap_seconds(self, start: datetime, end: datetime) -> float:
        """How much of [start, end) falls inside the window."""
        return max(0.0, (min(end, self.end) - max(start, self.start)).total_seconds())


@dataclass(frozen=True)
class Period:
    """The chosen window and the one of the same length just before it."""

    current: Window
    previous: Window

    @classmethod
    def of(cls, since: date, until: date) -> Period:
        length = (until - since).days + 1
        before = since - timedelta(days=1)
        return cls(Window(since, until), Window(before - timedelta(days=length - 1), before))

    @classmethod
    def last(cls, days: int = DEFAULT_DAYS, today: date | None = None) -> Period:
        """The `days` days up to and including today."""
        today = today or timezone.localdate()
        return cls.of(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        """Where the data either window needs begins."""
        return self.previous.start

    @property
    def end(self) -> datetime:
        return self.current.end

    def label(self, moment: datetime) -> str | None:
        """ "current", "previous" or None: the window a moment falls in."""
        if self.current.holds(moment):
            return "current"
        if self.previous.holds(moment):
            return "previous"
        return None


def period_between(since: date | None, until: date | None, today: date | None = None) -> Period:
    """The period the user asked for; either end may be left out.

    Without dates: the last 90 days. With only `until`: the 90 days up to it.
    With only `since`: from it to today. Refused (a ValidationError naming the
    field) when `since` comes after `until`, or a date lies outside the years
    an insights page can count back from.
    """
    today = today or timezone.localdate()
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationError(
                {name: f"Choose a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}."}
            )
    if until is None:
        until = max(today, since) if since is not None else today
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise ValidationError({"since": "The period must start on or before its last day."})
    return Period.of(since, until)
