"""Embedding shared by any number of workers, on any number of machines, through the database.

Embedding is the long pole of a bulk load (millions of abstracts at tens per second per core), so
every worker helps. ``embedding_claims`` holds one row per paper waiting for its vector. A worker
claims a batch by writing its name and a lease end on rows that are free or whose lease has
expired; on PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``, so workers claiming
at the same moment take different batches without waiting for each other; on SQLite the
database's single write lock makes the claiming statement atomic. The vectors are stored in the
transaction that deletes the worker's claim rows, and only for the rows it still holds, so no
paper is stored by two workers. A worker killed mid-batch simply stops: its lease runs out and
another worker claims the batch again. Nothing is lost, and nothing is stored twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from papertide.db import Database, dialect_insert
from papertide.search import embed_papers, stale_papers, store_vectors
from papertide.worker.clock import Clock, SystemClock
from papertide.worker.models import EmbeddingClaim

BATCH = 32  # papers per claim: seconds of work for the model, little to redo when a worker dies
LEASE = timedelta(minutes=10)  # far above a batch's time; a dead worker's batch waits this long
WAIT = 1.0  # seconds between looks while every waiting paper is held by other workers

claims = EmbeddingClaim.__table__


@dataclass
class SharedSummary:
    embedded: int = 0  # vectors this worker stored
    batches: int = 0
    lost: int = 0  # papers embedded here whose claim had expired and gone to another worker

    def line(self) -> str:
        return f"embedded {self.embedded:,} in {self.batches:,} shared batches" + (f", {self.lost:,} lost to others" if self.lost else "")


def queue_missing(database: Database, model_id: str) -> None:
    """Add a claim row for every paper whose vector is missing or stale (existing rows stay)."""
    for ids in stale_papers(database, model_id):
        with database.session() as session:
            session.execute(dialect_insert(session, claims).values([{"paper_id": i, "model": model_id} for i in ids])
                            .on_conflict_do_nothing(index_elements=["paper_id", "model"]))


def claim_batch(database: Database, model_id: str, holder: str, now: datetime, size: int = BATCH,
                lease: timedelta = LEASE) -> list[int]:
    """Take up to ``size`` free (or expired) papers for ``holder``; their ids, lowest first."""
    free = (select(claims.c.paper_id)
            .where(claims.c.model == model_id, or_(claims.c.holder.is_(None), claims.c.lease_expires_at < now))
            .order_by(claims.c.paper_id).limit(size).with_for_update(skip_locked=True))
    with database.session() as session:
        taken = session.scalars(update(claims).where(claims.c.model == model_id, claims.c.paper_id.in_(free.scalar_subquery()))
                                .values(holder=holder, lease_expires_at=now + lease).returning(claims.c.paper_id))
        return sorted(taken)


def finish_batch(database: Database, model_id: str, holder: str, paper_ids: list[int], items: list) -> tuple[int, int]:
    """Store the vectors of the papers ``holder`` still holds and drop their claims, in one
    transaction; (stored, lost: embedded here but claimed by another worker meanwhile)."""
    with database.session() as session:
        held = set(session.scalars(delete(claims).where(claims.c.model == model_id, claims.c.holder == holder,
                                                        claims.c.paper_id.in_(paper_ids)).returning(claims.c.paper_id)))
        mine = [item for item in items if item[0] in held]
        store_vectors(session, model_id, mine)
    return len(mine), len(items) - len(mine)


def release(database: Database, model_id: str, holder: str) -> None:
    """Give back what ``holder`` holds (a worker stopping cleanly): free for others at once."""
    with database.session() as session:
        session.execute(update(claims).where(claims.c.model == model_id, claims.c.holder == holder)
                        .values(holder=None, lease_expires_at=None))


def waiting(database: Database, model_id: str) -> tuple[int, datetime | None]:
    """(papers waiting for a vector of ``model_id``, the soonest end of a lease on one of them)."""
    with database.session() as session:
        count, soonest = session.execute(select(func.count(), func.min(claims.c.lease_expires_at))
                                         .where(claims.c.model == model_id)).one()
    return count, soonest


def embed_shared(database: Database, embedder, holder: str, *, clock: Clock | None = None,
                 stop: threading.Event | None = None, size: int = BATCH, lease: timedelta = LEASE,
                 queue: bool = True, on_claim: Callable[[list[int]], None] | None = None) -> SharedSummary:
    """Queue every paper needing a vector (unless ``queue`` is False: a helper joining work that
    is queued already), then claim, embed and store batches until none is left; while the rest
    are held by other workers, wait for them to finish or their leases to run out. ``on_claim``
    sees each batch as it is claimed (progress, tests)."""
    clock, stop = clock or SystemClock(), stop or threading.Event()
    model_id = embedder.model_id
    summary = SharedSummary()
    if queue:
        queue_missing(database, model_id)
    try:
        while not stop.is_set():
            paper_ids = claim_batch(database, model_id, holder, clock.now(), size, lease)
            if paper_ids:
                if on_claim:
                    on_claim(paper_ids)
                stored, lost = finish_batch(database, model_id, holder, paper_ids, embed_papers(database, embedder, paper_ids))
                summary.embedded += stored
                summary.lost += lost
                summary.batches += 1
                continue
            count, soonest = waiting(database, model_id)
            if not count:
                break
            # Real seconds, not the clock's: a simulated clock may stand still while others finish.
            until_expiry = (soonest - clock.now()).total_seconds() if soonest else WAIT
            stop.wait(min(WAIT, max(until_expiry, 0.05)))
    except BaseException:
        release(database, model_id, holder)  # stopped or failed: another worker takes the batch now
        raise
    return summary
