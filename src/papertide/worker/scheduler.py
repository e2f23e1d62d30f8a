"""The worker's loop: find the jobs that are due, take one's lease, run it, record it, repeat.

``run_once`` runs each job due now at most once, in the jobs' order, then returns (``papertide
worker --once``: cron, tests, "run now"). ``run_forever`` does that, then idles until the next
job is due, looking at the database at least every ``poll`` seconds for jobs someone asked for.
A job that fails is recorded, retried with backoff, and the pass goes on with the next job.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from papertide.config import Settings
from papertide.db import Database
from papertide.logging_setup import log_job_run
from papertide.worker import leases, runs
from papertide.worker.clock import Clock, SystemClock
from papertide.worker.context import JobContext, JobFailed, Outcome
from papertide.worker.jobs import Job, current_jobs

POLL = 15.0  # seconds an idle worker waits at most before looking for asked-for jobs again
log = logging.getLogger("papertide.worker")


class WorkerStopping(BaseException):
    """Raised in the worker's thread by a stop signal while a job runs: the job gives its lease
    back (still due) so that the next worker, or this one restarted, takes it over at once.
    A BaseException, so that no job's ``except Exception`` swallows it."""


@dataclass
class RunResult:
    job: str
    slot: datetime | None
    outcome: Outcome
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        said = self.outcome.summary or "done"
        return f"{self.job}: {said}" + (f"; FAILED: {self.error}" if self.error else "") + f" ({self.seconds:.1f} s)"


class Worker:
    def __init__(self, database: Database, settings: Settings, clock: Clock | None = None, *, name: str | None = None,
                 progress: bool = False, lease: timedelta = leases.LEASE, poll: float = POLL):
        self.database, self.settings = database, settings
        self.clock = clock or SystemClock()
        self.holder = name or leases.worker_id()
        self.progress, self.lease, self.poll = progress, lease, poll
        self.stop = threading.Event()
        self.interruptible = False  # True while a job body runs: a stop signal then interrupts it

    def run_once(self) -> list[RunResult]:
        """Run every job that is due now (including those the runs themselves make due), each once."""
        results: list[RunResult] = []
        tried: set[str] = set()
        while not self.stop.is_set():
            result = self._run_next(tried)
            if result is None:
                break
            results.append(result)
        return results

    def run_forever(self) -> None:
        log.info("worker %s started", self.holder)
        try:
            while not self.stop.is_set():
                try:
                    self.run_once()
                    wake = self._wake_at()
                except WorkerStopping:
                    raise
                except Exception:  # the database is away, say: log it and try again later
                    log.exception("worker pass failed")
                    wake = self.clock.now() + timedelta(seconds=self.poll)
                self.clock.wait_until(wake, self.stop)
        except WorkerStopping:
            pass
        log.info("worker %s stopped", self.holder)

    def _wake_at(self) -> datetime:
        """When to look again: when the next job comes due (or its holder's lease expires), and
        at least every ``poll`` seconds, for jobs someone asks for meanwhile."""
        now = self.clock.now()
        names = [job.name for job in current_jobs(self.database, self.settings)]
        latest = now + timedelta(seconds=self.poll)
        return min(leases.next_wake_at(self.database, names, now) or latest, latest)

    def run_job(self, name: str) -> RunResult | None:
        """Run the job called ``name`` now if it is due and free (None if not: not due, or held elsewhere)."""
        jobs = self._jobs(self.clock.now())
        job = next((job for job in jobs if job.name == name), None)
        held = job and leases.claim(self.database, name, self.holder, self.clock.now(), self.lease)
        return self._run(job, held) if held else None

    def _jobs(self, now: datetime) -> list[Job]:
        """This installation's jobs, each with its row in ``worker_jobs``."""
        jobs = current_jobs(self.database, self.settings)
        leases.ensure_jobs(self.database, {job.name: job.first_run_at(now) for job in jobs})
        return jobs

    def _run_next(self, tried: set[str]) -> RunResult | None:
        now = self.clock.now()
        jobs = self._jobs(now)
        due = set(leases.due_jobs(self.database, now, [job.name for job in jobs if job.name not in tried]))
        for job in jobs:
            if job.name in due:
                tried.add(job.name)
                held = leases.claim(self.database, job.name, self.holder, now, self.lease)
                if held is not None:  # else another worker was quicker
                    return self._run(job, held)
        return None

    def _run(self, job: Job, held: leases.Claim) -> RunResult:
        started = time.monotonic()
        run_id = runs.start(self.database, held, self.clock.now())
        context = JobContext(self.database, self.settings, self.clock, self.progress, self.stop)
        outcome, error = Outcome(), None
        try:
            with leases.LeaseKeeper(self.database, held, self.clock, self.lease):
                self.interruptible = True
                try:
                    outcome = job.body(context, held)
                finally:
                    self.interruptible = False
        except JobFailed as failure:
            outcome, error = failure.outcome, str(failure)
        except WorkerStopping:
            with self.database.session() as session:
                runs.finish(session, run_id, self.clock.now(), "interrupted")
            leases.release(self.database, held)
            raise
        except Exception as failure:  # one job's failure never stops the others
            log.exception("job %s failed", job.name)
            error = f"{failure.__class__.__name__}: {failure}"
        finished = self.clock.now()
        with self.database.session() as session:
            runs.finish(session, run_id, finished, "ok" if error is None else "failed", outcome, error)
            if not leases.finish(session, held, finished, job.next_run_at(finished, 0 if error is None else held.failures + 1), error):
                log.warning("job %s: its lease was taken over while it ran", job.name)
        result = RunResult(job.name, held.slot, outcome, error, time.monotonic() - started)
        log_job_run(job.name, job.name.partition(":")[2] or None, {"added": outcome.added, "updated": outcome.updated}, result.seconds, error=error)
        return result

    def interrupt(self) -> None:
        """Stop the worker (from a signal handler in its thread): at once if a job runs, else when idle."""
        self.stop.set()
        if self.interruptible:
            self.interruptible = False
            raise WorkerStopping()
