"""The digest outbox: one row per (subscriber, period), claimed, delivered and marked.

Life of a row::

    pending ──claim──► sending ──250──► sent
       ▲                 │ 4xx / down         (skipped: empty digest or no longer subscribed;
       └──── backoff ────┘ 5xx ──► failed      failed: permanent refusal or too many retries)

* **Record** inserts rows with ``INSERT ... ON CONFLICT DO NOTHING`` on the unique
  (subscription_id, period_key) key, with the paper list fixed then, so recording twice, from two
  runs at once, or after a crash, leaves one row holding the same digest.
* **Claim** moves due rows to ``sending`` under this worker's name in one short transaction whose
  UPDATE re-checks ``status = 'pending'``: two runs never hold the same row (SQLite serialises
  writers; on PostgreSQL the SELECT takes ``FOR UPDATE SKIP LOCKED``).
* **Mark** each row ``sent`` right after the server's 250, in its own commit, checking the claim
  is still ours.
* **Recover**: rows left ``sending`` by a worker that is gone (a dead process on this host, or a
  lease that expired) go back to ``pending``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, func, or_, select, update

from papertide.db import Database, dialect_insert
from papertide.digest.models import DigestOutbox, Subscription
from papertide.digest.periods import DigestPeriod
from papertide.digest.select import PaperSelector

outbox = DigestOutbox.__table__
INSERT_CHUNK = 500


def new_worker_id() -> str:
    """Who holds a claim: host and pid (to tell a dead local process) plus a per-run nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def worker_is_dead(worker: str | None) -> bool:
    """True only when ``worker`` is certainly gone: a process of this host that no longer exists."""
    if not worker:
        return True
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Recorded:
    """What recording a period did."""

    period_key: str
    candidates: int = 0  # papers on the list during the period
    subscribers: int = 0  # confirmed subscribers of this frequency
    recorded: int = 0  # rows this run inserted
    empty: int = 0  # the period's digests with nothing in them (kept as skipped, never sent)


def digests_for(selector: PaperSelector, subscriptions: Sequence[Subscription]) -> list[tuple[Subscription, list[int]]]:
    return [(subscription, selector.papers_for(subscription)) for subscription in subscriptions]


def confirmed_subscribers(database: Database, frequency: str) -> list[Subscription]:
    with database.session() as session:
        return list(session.scalars(
            select(Subscription)
            .where(Subscription.status == "confirmed", Subscription.frequency == frequency)
            .order_by(Subscription.id)
        ))


def record(database: Database, period: DigestPeriod, selector: PaperSelector, now: datetime) -> Recorded:
    """Write this period's rows for every confirmed subscriber; nothing when the period has no papers."""
    result = Recorded(period.key, candidates=len(selector.candidates))
    subscriptions = confirmed_subscribers(database, period.frequency)
    result.subscribers = len(subscriptions)
    if not selector.candidates or not subscriptions:
        return result
    rows = [
        {
            "subscription_id": subscription.id,
            "period_key": period.key,
            "status": "pending" if paper_ids else "skipped",
            "last_error": None if paper_ids else "no papers matched this subscriber's preferences",
            "paper_ids": paper_ids,
            "attempts": 0,
            "created_at": now,
        }
        for subscription, paper_ids in digests_for(selector, subscriptions)
    ]
    with database.session() as session:
        statement = (
            dialect_insert(session, outbox)
            .on_conflict_do_nothing(index_elements=["subscription_id", "period_key"])
            .returning(outbox.c.id)
        )
        for start in range(0, len(rows), INSERT_CHUNK):
            result.recorded += len(session.execute(statement, rows[start:start + INSERT_CHUNK]).all())
        result.empty = session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.period_key == period.key, outbox.c.status == "skipped")
        )
    return result


@dataclass(frozen=True)
class Claimed:
    """A row this worker now holds, with what it takes to send it."""

    id: int
    subscription_id: int
    period_key: str
    paper_ids: list[int]
    attempts: int
    email: str
    subscription_status: str


def claim(database: Database, worker: str, now: datetime, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due pending rows, oldest first; no other worker can take them after this.

    Two statements in one transaction: pick due ids (locking them on PostgreSQL, skipping rows
    another worker has locked), then move them to ``sending`` only where they are still pending,
    which is what keeps a row from being taken twice on SQLite, where the pick locks nothing.
    (One ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` is not safe to use: PostgreSQL may
    run the subquery more than once and claim more than ``n`` rows.)
    """
    with database.session() as session:
        due = session.scalars(
            select(outbox.c.id)
            .where(outbox.c.status == "pending", or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not due:
            return []
        taken = session.execute(
            update(outbox)
            .where(outbox.c.id.in_(due), outbox.c.status == "pending")
            .values(status="sending", claimed_by=worker, claimed_at=now, attempts=outbox.c.attempts + 1)
        ).rowcount
        if not taken:
            return []
        rows = session.execute(
            select(
                outbox.c.id, outbox.c.subscription_id, outbox.c.period_key, outbox.c.paper_ids, outbox.c.attempts,
                Subscription.email, Subscription.status,
            )
            .join(Subscription, Subscription.id == outbox.c.subscription_id)
            .where(outbox.c.id.in_(due), outbox.c.claimed_by == worker, outbox.c.status == "sending")
            .order_by(outbox.c.id)
        )
        return [Claimed(*row) for row in rows]


def _settle(database: Database, row_id: int, worker: str, **values) -> bool:
    """Change a row this worker holds; False when the claim was lost (lease expired, taken over)."""
    with database.engine.begin() as connection:  # Core, not a Session: this runs once per message
        return connection.execute(
            update(outbox).where(outbox.c.id == row_id, outbox.c.claimed_by == worker, outbox.c.status == "sending").values(**values)
        ).rowcount == 1


def mark_sent(database: Database, row_id: int, worker: str, now: datetime, message_id: str) -> bool:
    return _settle(database, row_id, worker, status="sent", sent_at=now, message_id=message_id, last_error=None)


def defer(database: Database, row_id: int, worker: str, error: str, retry_at: datetime) -> bool:
    return _settle(database, row_id, worker, status="pending", claimed_by=None, claimed_at=None,
                   next_attempt_at=retry_at, last_error=error[:2000])


def fail(database: Database, row_id: int, worker: str, error: str) -> bool:
    return _settle(database, row_id, worker, status="failed", last_error=error[:2000])


def skip(database: Database, row_id: int, worker: str, reason: str) -> bool:
    return _settle(database, row_id, worker, status="skipped", last_error=reason)


def bounce(database: Database, row_id: int, worker: str, subscription_id: int, error: str, now: datetime) -> bool:
    """A permanent refusal: the row fails and the address gets nothing more until re-confirmed."""
    with database.session() as session:
        settled = session.execute(
            update(outbox).where(outbox.c.id == row_id, outbox.c.claimed_by == worker, outbox.c.status == "sending")
            .values(status="failed", last_error=error[:2000])
        ).rowcount == 1
        session.execute(
            update(Subscription.__table__).where(Subscription.id == subscription_id, Subscription.status == "confirmed")
            .values(status="bounced", bounce_reason=error[:500])
        )
        return settled


def release(database: Database, worker: str, row_ids: Sequence[int] | None = None) -> int:
    """Give back rows this worker claimed but did not try (its attempt is not counted)."""
    where = [outbox.c.claimed_by == worker, outbox.c.status == "sending"]
    if row_ids is not None:
        if not row_ids:
            return 0
        where.append(outbox.c.id.in_(list(row_ids)))
    with database.session() as session:
        return session.execute(
            update(outbox).where(*where)
            .values(status="pending", claimed_by=None, claimed_at=None, attempts=outbox.c.attempts - 1)
        ).rowcount


def renew(database: Database, worker: str, now: datetime) -> int:
    """Extend this worker's claims (a slow server must not let its lease lapse mid-batch)."""
    with database.engine.begin() as connection:
        return connection.execute(
            update(outbox).where(outbox.c.claimed_by == worker, outbox.c.status == "sending").values(claimed_at=now)
        ).rowcount


def recover_stale(database: Database, now: datetime, lease: timedelta) -> int:
    """Put back rows whose worker died (on this host) or whose lease ran out (anywhere).

    A row found here was claimed and not settled: its digest was not sent, except in the one case
    where the worker died between the server's 250 and its commit (see ``run`` for that choice).
    """
    with database.session() as session:
        workers = session.scalars(select(outbox.c.claimed_by).where(outbox.c.status == "sending").distinct()).all()
        dead = [worker for worker in workers if worker_is_dead(worker)]
        stale = or_(outbox.c.claimed_at < now - lease, outbox.c.claimed_by.in_(dead) if dead else false())
        return session.execute(
            update(outbox).where(outbox.c.status == "sending", stale)
            .values(status="pending", claimed_by=None, claimed_at=None, last_error="recovered from an interrupted run")
        ).rowcount


def next_due(database: Database) -> datetime | None:
    """When the earliest deferred row may be tried again."""
    with database.session() as session:
        return session.scalar(select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "pending"))


def status_counts(database: Database, period_key: str | None = None) -> dict[str, int]:
    with database.session() as session:
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if period_key:
            query = query.where(outbox.c.period_key == period_key)
        return dict(session.execute(query).all())


def rows_for(database: Database, period_key: str) -> list[DigestOutbox]:
    with database.session() as session:
        return list(session.scalars(select(DigestOutbox).where(DigestOutbox.period_key == period_key).order_by(DigestOutbox.id)))

