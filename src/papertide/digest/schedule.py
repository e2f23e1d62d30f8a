"""When digests go out: a pure next-run-time function, and a thread that `papertide serve` starts.

Daily digests cover the previous day of the list and go out every day at the configured local
time; weekly digests cover the previous Monday-to-Sunday week and go out on Mondays. Because a
run only ever records what is missing and sends what is pending, the thread simply runs whatever
is due when it starts (catching up after a restart) and again at each send time; several
schedulers (or a cron job beside one) never send a digest twice. Between send times it retries
deferred deliveries every few minutes.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from papertide.config import Settings
from papertide.db import Database
from papertide.digest.periods import DigestPeriod
from papertide.orm import utcnow

log = logging.getLogger("papertide.digest")
RETRY_EVERY = timedelta(minutes=5)


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


class DigestScheduler(threading.Thread):
    """Runs digests at the send time each day, in a daemon thread of the serving process."""

    def __init__(
        self, database: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow,
        retry_every: timedelta = RETRY_EVERY, runner: Callable | None = None,
    ):
        super().__init__(name="papertide-digests", daemon=True)
        self.database = database
        self.settings = settings
        self.send_time = parse_send_time(settings.digest_time)
        self.zone = parse_timezone(settings.digest_timezone)
        self.clock = clock
        self.retry_every = retry_every
        self.stopping = threading.Event()
        self.runs: deque[tuple[datetime, list[str]]] = deque(maxlen=100)  # the latest runs and what they said
        self._run = runner or self._run_digests

    def _run_digests(self, period: DigestPeriod | None):
        """Record and send ``period``, or (None) only deliver what is due."""
        from papertide.digest.run import deliver, run_digests

        if period is None:
            return deliver(self.database, self.settings, stop=self.stopping)
        return run_digests(self.database, self.settings, period, stop=self.stopping)

    def run(self) -> None:
        due_at = last_run_at(self.clock(), self.send_time, self.zone)  # catch up on today's send
        while not self.stopping.is_set():
            now = self.clock()
            if now >= due_at:
                self._send(periods_due(due_at, self.zone))
                due_at = next_run_at(now, self.send_time, self.zone)
                continue
            wait = min((due_at - now).total_seconds(), self.retry_every.total_seconds())
            if self.stopping.wait(wait):
                return
            if self.clock() < due_at:
                self._guarded(None)  # retry deferred deliveries between send times

    def _send(self, periods: list[DigestPeriod]) -> None:
        for period in periods:
            self._guarded(period)

    def _guarded(self, period: DigestPeriod | None) -> None:
        try:
            report = self._run(period)
            lines = report.lines() if hasattr(report, "lines") else []
            self.runs.append((self.clock(), [period.key if period else "retry", *lines]))
            for line in lines:
                log.info("digest: %s", line)
        except Exception:  # the site keeps serving; the next send time tries again
            log.exception("digest run for %s failed", period.key if period else "deferred rows")

    def stop(self) -> None:
        self.stopping.set()


def start_scheduler(database: Database, settings: Settings) -> DigestScheduler:
    """Hook for `papertide serve` when PAPERTIDE_DIGESTS=on."""
    scheduler = DigestScheduler(database, settings)
    scheduler.start()
    log.info("digests: every day at %s %s", settings.digest_time, settings.digest_timezone)
    return scheduler
