"""The history of job runs (``job_runs``): what the admin page and ``sources list`` show as the last
run, and what says a slot ran once. A run left ``running`` by a worker that died is marked
``interrupted`` by the worker that takes its job over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.worker.context import Outcome
from papertide.worker.leases import Claim
from papertide.worker.models import JobRun

KEEP = timedelta(days=30)
runs = JobRun.__table__


def start(database: Database, held: Claim, now: datetime) -> int:
    with database.session() as session:
        # Whoever ran this job before us and is still "running" died: we hold its lease now.
        session.execute(update(runs).where(runs.c.job == held.job, runs.c.status == "running")
                        .values(status="interrupted", finished_at=now))
        return session.execute(insert(runs).values(
            job=held.job, slot=held.slot, holder=held.holder, started_at=now, status="running", added=0, updated=0,
        ).returning(runs.c.id)).scalar_one()


def finish(session: Session, run_id: int, now: datetime, status: str, outcome: Outcome | None = None,
           error: str | None = None) -> None:
    """Record how run ``run_id`` ended (in the caller's transaction), and forget runs older than ``KEEP``."""
    outcome = outcome or Outcome()
    job = session.execute(update(runs).where(runs.c.id == run_id).values(
        finished_at=now, status=status, added=outcome.added, updated=outcome.updated,
        summary=outcome.summary or None, error=error[:4000] if error else None,
    ).returning(runs.c.job)).scalar_one()
    session.execute(delete(runs).where(runs.c.job == job, runs.c.started_at < now - KEEP))
