"""When digests go out: pure functions of the time, used by the worker's digest jobs.

Daily digests cover the previous day of the list and go out every day at the configured local
time; weekly digests cover the previous Monday-to-Sunday week and go out on Mondays. Because a
run only ever records what is missing and sends what is pending, the worker simply runs whatever
is due when it first starts (catching up) and again at each send time; a second scheduler (or a
cron job beside the worker) never sends a digest twice. Between send times the worker retries
deferred deliveries (``papertide.worker.pipeline``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from papertide.digest.periods import DigestPeriod


def parse_send_time(text: str) -> time:
    try:
        hour, minute = (int(part) for part in text.strip().split(":"))
        return time(hour, minute)
    except ValueError as error:
        raise ValueError(f"digest time must be HH:MM (24-hour), not {text!r}") from error


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from error


def send_time_on(day: date, send_time: time, zone: ZoneInfo) -> datetime:
    """The instant ``send_time`` happens on ``day`` in ``zone`` (a time skipped by a DST change
    moves forward with the clock), as an aware datetime."""
    local = datetime.combine(day, send_time, zone)
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def next_run_at(now: datetime, send_time: time, zone: ZoneInfo) -> datetime:
    """The first send time strictly after ``now``."""
    local_now = now.astimezone(zone)
    candidate = send_time_on(local_now.date(), send_time, zone)
    if candidate <= local_now:
        candidate = send_time_on(local_now.date() + timedelta(days=1), send_time, zone)
    return candidate


def last_run_at(now: datetime, send_time: time, zone: ZoneInfo) -> datetime:
    """The latest send time at or before ``now``."""
    local_now = now.astimezone(zone)
    candidate = send_time_on(local_now.date(), send_time, zone)
    if candidate > local_now:
        candidate = send_time_on(local_now.date() - timedelta(days=1), send_time, zone)
    return candidate


def periods_due(run_at: datetime, zone: ZoneInfo) -> list[DigestPeriod]:
    """What a send at ``run_at`` covers: yesterday, and last week when it is a Monday."""
    today = run_at.astimezone(zone).date()
    due = [DigestPeriod.last_complete("daily", today)]
    if today.weekday() == 0:
        due.append(DigestPeriod.last_complete("weekly", today))
    return due
