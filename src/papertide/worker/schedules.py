"""When a job is due: every N minutes (on the clock's round marks), or once a day at a local time.

Slots are fixed points in time, not "N minutes after the last run": every worker computes the
same next slot from the same clock, a run that took long does not push the next one later, and
missed slots (the machine was off) are not replayed one by one: the next run serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from papertide.digest.schedule import last_run_at, next_run_at, parse_send_time, parse_timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment``."""

    def last_at_or_before(self, moment: datetime) -> datetime:
        """The latest slot at or before ``moment``."""

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Every:
    """Every ``minutes`` minutes, at multiples of it since midnight UTC (every 30: :00 and :30)."""

    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError("a schedule repeats every 1 minute or more")

    def last_at_or_before(self, moment: datetime) -> datetime:
        step = timedelta(minutes=self.minutes)
        return EPOCH + step * ((moment - EPOCH) // step)

    def next_after(self, moment: datetime) -> datetime:
        return self.last_at_or_before(moment) + timedelta(minutes=self.minutes)

    def describe(self) -> str:
        return f"every {self.minutes} minutes" if self.minutes % 60 else f"every {self.minutes // 60} h"


@dataclass(frozen=True)
class DailyAt:
    """Once a day at ``at`` local time in ``zone`` (a time skipped by a DST change moves forward)."""

    at: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, at: str, zone: str = "UTC") -> "DailyAt":
        return cls(parse_send_time(at), parse_timezone(zone))

    def next_after(self, moment: datetime) -> datetime:
        return next_run_at(moment, self.at, self.zone).astimezone(timezone.utc)

    def last_at_or_before(self, moment: datetime) -> datetime:
        return last_run_at(moment, self.at, self.zone).astimezone(timezone.utc)

    def describe(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key}"
