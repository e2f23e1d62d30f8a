"""Digest periods: a day or an ISO week of the daily list, named by a stable key.

The key (``daily:2026-11-23``, ``weekly:2026-W48``) is half of the outbox's unique key, so the
same period always gets the same name, whichever run or machine computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

FREQUENCIES = ("daily", "weekly")


@dataclass(frozen=True)
class DigestPeriod:
    """The span one digest covers. Not the feed's ``Period`` (a day, week or month of the web's
    list, end exclusive, named by a URL parameter): this one is inclusive, daily or weekly only,
    and named by the outbox key that makes sending it twice impossible."""

    frequency: str  # daily | weekly
    start: date
    end: date  # inclusive

    @classmethod
    def containing(cls, frequency: str, day: date) -> "DigestPeriod":
        """The day itself, or the Monday-to-Sunday week that holds it."""
        if frequency == "daily":
            return cls("daily", day, day)
        if frequency == "weekly":
            monday = day - timedelta(days=day.weekday())
            return cls("weekly", monday, monday + timedelta(days=6))
        raise ValueError(f"unknown digest frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}")

    @classmethod
    def last_complete(cls, frequency: str, today: date) -> "DigestPeriod":
        """The newest period that is over on ``today``: yesterday, or last week."""
        return cls.containing(frequency, today - timedelta(days=1 if frequency == "daily" else 7))

    @classmethod
    def from_key(cls, key: str) -> "DigestPeriod":
        frequency, _, value = key.partition(":")
        if frequency == "daily":
            return cls.containing("daily", date.fromisoformat(value))
        if frequency == "weekly":
            year, _, week = value.partition("-W")
            return cls.containing("weekly", date.fromisocalendar(int(year), int(week), 1))
        raise ValueError(f"not a digest period key: {key!r}")

    @property
    def key(self) -> str:
        if self.frequency == "daily":
            return f"daily:{self.start.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"weekly:{year}-W{week:02d}"

    @property
    def label(self) -> str:
        """How the period reads in a subject line: 'Monday 23 November 2026' or a week span."""
        if self.frequency == "daily":
            return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"
        week = self.start.isocalendar()[1]
        if self.start.month == self.end.month:
            span = f"{self.start.day}–{self.end.day} {self.end:%B %Y}"
        else:
            span = f"{self.start.day} {self.start:%B} – {self.end.day} {self.end:%B %Y}"
        return f"week {week}, {span}"

    @property
    def title(self) -> str:
        return "Daily" if self.frequency == "daily" else "Weekly"
