"""A digest run: record the period's digests in the outbox, then deliver everything due.

Exactly once, and the one window where it cannot be
----------------------------------------------------
Rows are recorded under a unique key and claimed atomically, so no digest is recorded twice and no
two runs hold the same row. Each message is marked ``sent`` in its own commit immediately after the
SMTP server's 250, and rows are sent one at a time in id order. A crash or ``kill -9`` anywhere
leaves every unsent row ``pending`` or ``sending``; the next run puts ``sending`` rows of a dead
worker back to ``pending`` and sends them. So after any interruption, another run delivers every
digest once, with one exception no SMTP client can remove: a kill in the microseconds between the
server's 250 and the commit. The server has the message and the row says ``sending``. We chose
**at-least-once** there (the row is sent again) over at-most-once (a digest silently lost), and
every attempt at one digest carries the same ``Message-ID``, so the resend is recognisable as the
same message by receiving servers and clients that de-duplicate on it. At most one message per
interrupted worker is in that window.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from papertide import metrics
from papertide.config import Settings
from papertide.db import Database
from papertide.digest import outbox
from papertide.digest.compose import Composer, PaperCache
from papertide.digest.delivery import (
    ConnectionFailure, PermanentFailure, SenderRejected, SmtpMailer, TemporaryFailure,
)
from papertide.digest.periods import DigestPeriod
from papertide.digest.select import PaperSelector, TopicMatcher
from papertide.orm import utcnow

FAULT_ENV = "PAPERTIDE_DIGEST_FAULT"


@dataclass(frozen=True)
class DeliveryPolicy:
    batch_size: int = 100
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=6)
    max_attempts: int = 10  # then the row is failed, with its last error kept
    retry_window: timedelta = timedelta(minutes=2)  # how long a run waits for deferred rows to come due
    lease: timedelta = timedelta(minutes=15)  # a claim older than this is presumed abandoned
    connection_failures_to_stop: int = 2  # consecutive: the server is down, leave the rest for later

    def backoff(self, attempts: int) -> timedelta:
        return min(self.backoff_base * (2 ** max(attempts - 1, 0)), self.backoff_max)


@dataclass
class RunReport:
    period: DigestPeriod | None = None
    dry_run: bool = False
    recorded: outbox.Recorded | None = None
    would_send: int = 0  # dry run: digests that would be recorded with papers
    sent: int = 0
    deferred: int = 0
    bounced: int = 0
    failed: int = 0
    skipped: int = 0
    recovered: int = 0
    stopped: str | None = None  # why delivery stopped early
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        r = self.recorded
        if self.period is not None and r is not None:
            if not r.candidates:
                out.append(f"{self.period.key}: no papers on the list for {self.period.label}; no digests recorded, nothing to send for it")
            else:
                out.append(
                    f"{self.period.key}: {r.candidates} papers; {r.subscribers} confirmed {self.period.frequency} subscribers; "
                    + (f"{self.would_send} digests would be recorded" if self.dry_run else f"{r.recorded} digests recorded now")
                    + (f", {r.empty} empty (not sent)" if r.empty else "")
                )
        if self.dry_run:
            out.append("dry run: nothing recorded, nothing sent")
            return out
        parts = [f"{self.sent} sent"]
        for name in ("deferred", "bounced", "failed", "skipped", "recovered"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name}")
        out.append("delivery: " + ", ".join(parts))
        if self.stopped:
            out.append(f"stopped early: {self.stopped} (the rest stays queued for the next run)")
        return out


class FaultHook:
    """Test-only: ``PAPERTIDE_DIGEST_FAULT=POINT:N`` kills this process with SIGKILL the Nth time
    it passes POINT (``claimed``, ``accepted`` = after the 250 before the commit, ``sent``)."""

    def __init__(self, spec: str | None):
        self.point, _, count = (spec or "").partition(":")
        self.remaining = int(count or 1) if self.point else 0

    @classmethod
    def from_env(cls) -> "FaultHook":
        return cls(os.environ.get(FAULT_ENV))

    def at(self, point: str) -> None:
        if self.remaining and point == self.point:
            self.remaining -= 1
            if not self.remaining:
                os.kill(os.getpid(), signal.SIGKILL)


def run_digests(
    database: Database,
    settings: Settings,
    period: DigestPeriod,
    *,
    dry_run: bool = False,
    policy: DeliveryPolicy = DeliveryPolicy(),
    mailer_factory: Callable[[], SmtpMailer] | None = None,
    topic_matcher: TopicMatcher | None = None,
    clock: Callable[[], datetime] = utcnow,
    stop: threading.Event | None = None,
) -> RunReport:
    """Record ``period``'s digests, then deliver every due row (this period's and earlier ones)."""
    report = RunReport(period=period, dry_run=dry_run)
    selector = PaperSelector(database, period, topic_matcher=topic_matcher)
    if dry_run:
        subscribers = outbox.confirmed_subscribers(database, period.frequency)
        report.recorded = outbox.Recorded(period.key, candidates=len(selector.candidates), subscribers=len(subscribers))
        if selector.candidates:
            report.would_send = sum(1 for _, papers in outbox.digests_for(selector, subscribers) if papers)
        return report
    report.recorded = outbox.record(database, period, selector, clock())
    deliver(database, settings, report, policy=policy, mailer_factory=mailer_factory, clock=clock, stop=stop)
    return report


def deliver(
    database: Database,
    settings: Settings,
    report: RunReport | None = None,
    *,
    policy: DeliveryPolicy = DeliveryPolicy(),
    mailer_factory: Callable[[], SmtpMailer] | None = None,
    clock: Callable[[], datetime] = utcnow,
    stop: threading.Event | None = None,
) -> RunReport:
    """Send every due pending row over one reused SMTP connection, settling each as it goes."""
    mailer = (mailer_factory or (lambda: SmtpMailer(settings)))()
    delivery = _Delivery(database, settings, report or RunReport(), policy, mailer, clock, stop or threading.Event())
    try:
        delivery.run()
    finally:
        outbox.release(database, delivery.worker)  # anything still held after an unexpected error
        mailer.close()
    return delivery.report


class _Stop(Exception):
    """Delivery cannot go on in this run (server down, or refusing us); the rest stays queued."""


class _Delivery:
    """One worker's pass over the outbox: claim a batch, send its rows in order, settle each."""

    def __init__(self, database, settings, report, policy, mailer, clock, stop):
        self.database, self.report, self.policy, self.mailer, self.clock, self.stop = (
            database, report, policy, mailer, clock, stop)
        self.worker = outbox.new_worker_id()
        self.composer = Composer(settings)
        self.papers = PaperCache(database, self.composer.base_url)
        self.fault = FaultHook.from_env()
        self.connection_failures = 0
        self.last_connection_error: str | None = None

    def run(self) -> None:
        started = self.clock()
        self.report.recovered += outbox.recover_stale(self.database, started, self.policy.lease)
        while not self.stop.is_set():
            claimed = outbox.claim(self.database, self.worker, self.clock(), self.policy.batch_size)
            if not claimed:
                if _wait_for_retries(self.database, self.policy, started, self.clock, self.stop, self.mailer):
                    continue
                if self.connection_failures:  # the last thing the server did was fail us: say so
                    self.report.stopped = self.last_connection_error
                return
            self.fault.at("claimed")
            claimed_at = self.clock()
            for position, row in enumerate(claimed):
                if self.stop.is_set():
                    return  # `deliver` releases what is left
                if self.clock() - claimed_at > self.policy.lease / 3:  # a slow server: keep our claim
                    claimed_at = self.clock()
                    outbox.renew(self.database, self.worker, claimed_at)
                try:
                    self.send(row)
                except _Stop as reason:
                    self.report.stopped = str(reason)
                    return

    def send(self, row: outbox.Claimed) -> None:
        report, database, worker = self.report, self.database, self.worker
        if row.subscription_status != "confirmed":
            outbox.skip(database, row.id, worker, f"subscription is {row.subscription_status}")
            report.skipped += 1
            return
        try:
            period = DigestPeriod.from_key(row.period_key)
            papers = self.papers.get(row.paper_ids)
            message_id = self.composer.digest_message_id(row.subscription_id, period)
            message = self.composer.digest(
                subscription_id=row.subscription_id, email=row.email, period=period, papers=papers, message_id=message_id,
            )
        except Exception as error:  # one bad row must not block the queue behind it
            outbox.fail(database, row.id, worker, f"could not compose: {error!r}")
            report.failed += 1
            metrics.digest_failed("failed")
            return
        if not papers:  # every paper of it was hidden or deleted since it was recorded
            outbox.skip(database, row.id, worker, "no papers left to send")
            report.skipped += 1
            return
        try:
            self.mailer.send(message, row.email)
        except SenderRejected as error:
            outbox.release(database, worker, [row.id])
            report.errors.append(str(error))
            raise _Stop(str(error)) from error
        except PermanentFailure as error:
            outbox.bounce(database, row.id, worker, row.subscription_id, str(error), self.clock())
            report.bounced += 1
            metrics.digest_failed("bounced")
        except TemporaryFailure as error:
            _defer(database, worker, row, str(error), self.policy, self.clock(), report)
            if isinstance(error, ConnectionFailure):
                self.connection_failures += 1
                self.last_connection_error = str(error)
                if self.connection_failures >= self.policy.connection_failures_to_stop:
                    raise _Stop(str(error)) from error
        else:
            self.fault.at("accepted")
            if not outbox.mark_sent(database, row.id, worker, self.clock(), message_id):
                report.errors.append(f"outbox row {row.id} was sent after its claim was taken over")
            report.sent += 1
            metrics.digest_sent()
            self.connection_failures = 0
            self.fault.at("sent")


def _defer(database, worker, row, error, policy, now, report) -> None:
    if row.attempts >= policy.max_attempts:
        outbox.fail(database, row.id, worker, f"gave up after {row.attempts} attempts: {error}")
        report.failed += 1
        metrics.digest_failed("failed")
    else:
        outbox.defer(database, row.id, worker, error, now + policy.backoff(row.attempts))
        report.deferred += 1


def _wait_for_retries(database, policy, started, clock, stop, mailer) -> bool:
    """Wait for the next deferred row when it comes due within this run's retry window."""
    due = outbox.next_due(database)
    if due is None:
        return False
    now = clock()
    if due > started + policy.retry_window:
        return False
    mailer.close()  # do not hold an idle connection open while waiting
    stop.wait(max((due - now).total_seconds(), 0))
    return not stop.is_set()
