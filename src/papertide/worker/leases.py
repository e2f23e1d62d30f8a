"""One runner per job, across processes and machines: a lease row per job in ``worker_jobs``.

A worker takes a due job with one conditional ``UPDATE ... WHERE name = :job AND (no holder OR
the lease expired) AND (due) RETURNING ...``: whoever's statement matches first holds the job.
On SQLite the database's single write lock makes that statement atomic. On PostgreSQL a second
worker's UPDATE waits for the first one's row lock, then re-checks its WHERE clause against the
row the first one committed (READ COMMITTED's rule for UPDATE), finds a live holder and matches
nothing; the same guarantee as ``SELECT ... FOR UPDATE SKIP LOCKED``, in one statement and one
code path for both backends. Unlike a session advisory lock, a lease outlives no connection
problem and needs no connection held open for the length of a harvest.

While a job runs its lease is renewed (``LeaseKeeper``, every third of its length). A worker that
dies stops renewing; once the lease expires another worker claims the job for the same slot and,
the sources being resumable, carries on from the last stored checkpoint.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from papertide.db import Database, dialect_insert
from papertide.worker.clock import Clock
from papertide.worker.models import WorkerJob

LEASE = timedelta(minutes=5)
log = logging.getLogger("papertide.worker")
jobs = WorkerJob.__table__


def worker_id() -> str:
    """A name for this worker process that no other process, here or elsewhere, has."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Claim:
    """A job this worker holds: which slot it serves (None: run because someone asked) and the
    count of asks it answers."""

    job: str
    holder: str
    slot: datetime | None
    requests: int
    failures: int


def ensure_jobs(database: Database, first_due: dict[str, datetime | None]) -> None:
    """Give every job a row, due at ``first_due[name]`` (None: only when asked); existing rows stay."""
    if not first_due:
        return
    with database.session() as session:
        known = set(session.scalars(select(jobs.c.name).where(jobs.c.name.in_(list(first_due)))))
        missing = [{"name": name, "next_run_at": due, "requests": 0, "served": 0, "failures": 0}
                   for name, due in first_due.items() if name not in known]
        if missing:
            session.execute(dialect_insert(session, jobs).values(missing).on_conflict_do_nothing(index_elements=["name"]))


def due_jobs(database: Database, now: datetime, names: list[str]) -> list[str]:
    """Those of ``names`` that are due at ``now`` and free to claim, soonest first."""
    with database.session() as session:
        rows = session.execute(
            select(jobs.c.name).where(jobs.c.name.in_(names), _free(now), _due(now)).order_by(jobs.c.next_run_at)
        ).scalars()
        return list(rows)


def next_wake_at(database: Database, names: list[str], now: datetime) -> datetime | None:
    """The soonest moment one of ``names`` is due and free to claim (``now`` if one is already):
    when an idle worker should look again. A job held elsewhere is free when its lease expires."""
    with database.session() as session:
        rows = session.execute(select(jobs.c.next_run_at, jobs.c.requests, jobs.c.served, jobs.c.holder,
                                      jobs.c.lease_expires_at).where(jobs.c.name.in_(names))).all()
    moments = []
    for row in rows:
        due = now if row.requests > row.served else row.next_run_at
        if due is not None:
            held_until = row.lease_expires_at if row.holder is not None and row.lease_expires_at is not None else None
            moments.append(max(due, held_until) if held_until and held_until > now else due)
    return min(moments, default=None)


def claim(database: Database, job: str, holder: str, now: datetime, lease: timedelta = LEASE) -> Claim | None:
    """Take ``job`` if it is due and nobody holds a live lease on it; None otherwise."""
    with database.session() as session:
        row = session.execute(
            update(jobs).where(jobs.c.name == job, _free(now), _due(now))
            .values(holder=holder, lease_expires_at=now + lease, last_started_at=now)
            .returning(jobs.c.next_run_at, jobs.c.requests, jobs.c.failures)
        ).one_or_none()
    if row is None:
        return None
    slot = row.next_run_at if row.next_run_at is not None and row.next_run_at <= now else None
    return Claim(job, holder, slot, row.requests, row.failures)


def renew(database: Database, held: Claim, now: datetime, lease: timedelta = LEASE) -> bool:
    """Push the lease's end to ``now + lease``; False if the lease was lost (taken over)."""
    with database.session() as session:
        result = session.execute(update(jobs).where(jobs.c.name == held.job, jobs.c.holder == held.holder)
                                 .values(lease_expires_at=now + lease))
        return result.rowcount == 1


def finish(session: Session, held: Claim, now: datetime, next_run_at: datetime | None, error: str | None) -> bool:
    """Release the lease and record the outcome (in the caller's transaction, with the run's row):
    due next at ``next_run_at``, and every ask made before the claim answered. False if the lease
    had been lost meanwhile (nothing recorded over the new holder's state)."""
    values = dict(holder=None, lease_expires_at=None, next_run_at=next_run_at, served=held.requests, last_finished_at=now)
    if error is None:
        values.update(failures=0, last_success_at=now)
    else:
        values.update(failures=jobs.c.failures + 1, last_error=error[:4000], last_error_at=now)
    result = session.execute(update(jobs).where(jobs.c.name == held.job, jobs.c.holder == held.holder).values(**values))
    return result.rowcount == 1


def release(database: Database, held: Claim) -> None:
    """Give the job back unfinished (the worker is stopping): still due, free for the next worker now."""
    with database.session() as session:
        session.execute(update(jobs).where(jobs.c.name == held.job, jobs.c.holder == held.holder)
                        .values(holder=None, lease_expires_at=None))


def request_run(database: Database, job: str) -> None:
    """Ask for a run of ``job`` as soon as a worker is free ("run now", or new papers to index)."""
    with database.session() as session:
        session.execute(dialect_insert(session, jobs).values(name=job, next_run_at=None, requests=1, served=0, failures=0)
                        .on_conflict_do_update(index_elements=["name"], set_={"requests": jobs.c.requests + 1}))


def forget(database: Database, job: str) -> None:
    with database.session() as session:
        session.execute(jobs.delete().where(jobs.c.name == job))


def _free(now: datetime):
    return or_(jobs.c.holder.is_(None), jobs.c.lease_expires_at < now)


def _due(now: datetime):
    return or_(jobs.c.next_run_at <= now, jobs.c.requests > jobs.c.served)


class LeaseKeeper:
    """Renews a held lease in a thread while the job runs (``with LeaseKeeper(...):``).

    ``lost`` turns True if another worker took the job over meanwhile (this one was too slow to
    renew, e.g. suspended for longer than the lease): the run goes on, the sources being
    idempotent, but its outcome is not recorded over the new holder's.
    """

    def __init__(self, database: Database, held: Claim, clock: Clock, lease: timedelta = LEASE):
        self.database, self.held, self.clock, self.lease = database, held, clock, lease
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease {held.job}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self.clock.wait_until(self.clock.now() + self.lease / 3, self._done):
            try:
                if not renew(self.database, self.held, self.clock.now(), self.lease):
                    self.lost = True
                    log.warning("job %s: lease lost to another worker", self.held.job)
                    return
            except Exception:  # a database hiccup: try again at the next renewal
                log.exception("job %s: could not renew the lease", self.held.job)
