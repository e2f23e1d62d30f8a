"""Content versions: cheap counters that tell a cache whether what it holds is still current.

Every change a reader would see (an ingest, a vote, a comment, a moderation action, a submission) bumps
``"catalog"`` and the changed paper's ``"paper:<id>"`` in the same transaction as the change.
Caches in any number of web workers key their entries on these numbers, so a vote in one worker
is visible in every other on the next request (on PostgreSQL, the next one after the vote's
notification reached that worker).

On PostgreSQL a bump also sends ``NOTIFY papertide_versions`` (payload ``key:version``) in the same
transaction, so the notification leaves only if the change commits; ``catalog.version_listener``
keeps a process's copy of a version current from those notifications instead of reading the row
on every request. On SQLite nothing is sent: the read is a local file read.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from sqlalchemy import Engine, String, cast, event, func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import ContentVersion
from papertide.db import dialect_insert, is_postgres

CATALOG = "catalog"
CHANNEL = "papertide_versions"  # PostgreSQL's NOTIFY channel; payload "key:version"
# The keys a process keeps in memory (``version_listener``): only their bumps are notified. A
# batch of ingest bumps a key per paper, and nobody listens for those.
NOTIFIED = frozenset({CATALOG})

_table = ContentVersion.__table__
_BUMPED = "papertide_bumped_versions"  # session.info: key -> newest version this transaction bumped it to
# The listening readers of this process (``version_listener.ListeningReader``): each is told,
# right after a commit through its own engine, what that commit bumped, so the process that made
# a change reads it back at once instead of waiting for its own notification.
committed_listeners: weakref.WeakSet = weakref.WeakSet()


def paper_key(paper_id: int) -> str:
    return f"paper:{paper_id}"


def bump(session: Session, *keys: str) -> None:
    """Increment each of ``keys`` (creating it at 1) within the caller's transaction: one statement."""
    if not keys:
        return
    rows = [{"key": key, "version": 1} for key in sorted(set(keys))]  # a fixed order: no deadlocks
    statement = dialect_insert(session, _table).values(rows)
    statement = statement.on_conflict_do_update(index_elements=[_table.c.key], set_={"version": _table.c.version + 1})
    if not is_postgres(session):
        session.execute(statement)
        return
    # One statement still: the upsert as a CTE, and a notification per bumped key that is
    # NOTIFIED, delivered by PostgreSQL at commit (never for a rolled-back transaction).
    bumped = statement.returning(_table.c["key"], _table.c.version).cte("bumped")
    payload = bumped.c["key"] + ":" + cast(bumped.c.version, String)
    found = session.execute(select(bumped.c["key"], bumped.c.version, func.pg_notify(CHANNEL, payload))
                            .where(bumped.c["key"].in_(sorted(NOTIFIED)))).all()
    newest = session.info.setdefault(_BUMPED, {})
    for key, version, _ in found:
        newest[key] = max(version, newest.get(key, 0))


def current(session: Session, keys: Iterable[str] = (CATALOG,)) -> tuple[int, ...]:
    """The versions of ``keys`` in the order given (0 for a key never bumped)."""
    keys = list(keys)
    found = dict(session.execute(select(_table.c.key, _table.c.version).where(_table.c.key.in_(keys))).all())
    return tuple(found.get(key, 0) for key in keys)


def content_version(session: Session) -> int:
    """Changes whenever any list could change (ingest, votes, comments, submissions, moderation)."""
    return current(session)[0]


def paper_version(session: Session, paper_id: int) -> int:
    """Changes whenever what one paper's page shows could change."""
    return current(session, [paper_key(paper_id)])[0]


def bump_for_paper(session: Session, paper_id: int) -> None:
    """What a change to one paper's visible state must invalidate: it, and every list."""
    bump(session, CATALOG, paper_key(paper_id))


def reader(engine: Engine, key: str = CATALOG) -> Callable[[], int]:
    """A function returning the current version of ``key`` through one pooled DBAPI cursor.

    For the page cache's hot path (every anonymous request): a raw cursor, because an ORM
    session's setup costs several times the read itself. The key is fixed, so the SQL is compiled once with it inlined (no
    paramstyle differences between backends). Returning the connection to the pool ends its read
    transaction, so each call sees the newest committed version.
    """
    statement = select(_table.c.version).where(_table.c.key == key)
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))

    def read() -> int:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            row = cursor.fetchone()
            cursor.close()
            return row[0] if row else 0
        finally:
            connection.close()

    return read


@event.listens_for(Session, "after_commit")
def _tell_listeners(session: Session) -> None:
    bumped = session.info.pop(_BUMPED, None)
    if bumped and committed_listeners:
        engine = session.get_bind()
        for listener in list(committed_listeners):
            if listener.engine is engine:
                listener.committed(bumped)


@event.listens_for(Session, "after_rollback")
def _forget_bumps(session: Session) -> None:
    session.info.pop(_BUMPED, None)
