"""The database: one engine per process, sessions, and migrations.

The backend is chosen by the URL alone: ``sqlite:///papertide.db`` (the embedded default) or
``postgresql+psycopg://...``. SQLite connections are tuned for a web site that reads a lot and
writes a little from several processes: WAL journal, a busy timeout instead of instant
"database is locked" errors, and foreign keys enforced. PostgreSQL connections run in UTC
and are checked before use, so a restarted server costs one retry, not a failed request.

What must differ between the backends lives here and nowhere else (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from papertide.config import PACKAGE_DIR, get_settings

MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def beside_sqlite_file(database_url: str, suffix: str) -> Path | None:
    """A derived file kept next to a SQLite database file (``papertide.db`` + ``suffix``: search
    indexes); None for PostgreSQL and for an in-memory database, which have no such place."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + suffix)


def is_sqlite(engine: Engine | Connection | Session) -> bool:
    return _dialect(engine) == "sqlite"


def is_postgres(engine: Engine | Connection | Session) -> bool:
    return _dialect(engine) == "postgresql"


def _dialect(bind: Engine | Connection | Session) -> str:
    return (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name


def lock_for_transaction(bind: Session | Connection, name: str) -> None:
    """Serialise one kind of read-then-write across every process sharing the database, until commit.

    Two ingests at once (a cron harvest and a manual load), or two machines migrating at once,
    must take turns instead of both inserting the paper neither saw. On PostgreSQL this takes a
    transaction-scoped advisory lock named ``name``; on SQLite, the database's one write lock
    (see ``begin_write``).
    """
    if is_postgres(bind):
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})
    else:
        begin_write(bind)


def begin_write(bind: Session | Connection) -> None:
    """On SQLite, take the write lock now, so that the reads that follow see the latest commit.

    SQLite has one write lock for the whole file: ``BEGIN IMMEDIATE`` takes it (waiting up to the
    busy timeout). The sqlite3 module opens transactions only before a write, so if one is open,
    this connection holds the lock already. On PostgreSQL this does nothing: row locks
    (``SELECT ... FOR UPDATE [SKIP LOCKED]``) and unique keys protect each row instead.
    """
    if is_sqlite(bind):
        connection = bind.connection() if isinstance(bind, Session) else bind
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def dialect_insert(bind: Engine | Connection | Session, table):
    """``INSERT`` with ``ON CONFLICT`` for this backend (SQLite and PostgreSQL spell it alike).

    ``dialect_insert(session, votes).values(...).on_conflict_do_nothing(index_elements=[...])
    .returning(votes.c.id)`` inserts unless the row exists, in one statement that is safe under
    concurrency; a returned row says that it did. (Do not read ``rowcount`` after an insert: on
    PostgreSQL SQLAlchemy adds RETURNING for the new key, and the count is then -1.)
    """
    if is_postgres(bind):
        from sqlalchemy.dialects.postgresql import insert
    elif is_sqlite(bind):
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - papertide supports these two
        raise NotImplementedError(_dialect(bind))
    return insert(table)


def ids_condition(bind: Engine | Connection | Session, ids, column: str = "id") -> tuple[str, dict]:
    """SQL saying that ``column`` is one of ``ids``, and its one parameter (``:ids``): the ids as
    one value, a JSON array read by ``json_each`` on SQLite, an array on PostgreSQL. An expanding
    ``IN`` binds each id as a parameter of its own, and SQLAlchemy's work per parameter cost more
    than the query (0.73 against 0.27 ms for 120 ids on SQLite)."""
    values = [int(i) for i in ids]
    if is_sqlite(bind):
        return f"{column} IN (SELECT value FROM json_each(:ids))", {"ids": "[" + ",".join(map(str, values)) + "]"}
    return f"{column} = ANY(CAST(:ids AS bigint[]))", {"ids": values}


def advisory_key(name: str) -> int:
    """A stable signed 64-bit lock key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"papertide:{name}".encode()).digest()[:8], "big", signed=True)


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (authors, categories, ...) are (de)serialised for every row ingested: orjson is
# much faster than the standard library at it.
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    """An engine for ``url``, with per-backend connection settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **JSON_CODEC)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": "-c timezone=UTC", "application_name": "papertide"},
        **JSON_CODEC,
    )


class Database:
    """An engine plus a session factory: what every service is handed."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        # For messages and logs: the URL without its password.
        self.display_url = self.engine.url.render_as_string(hide_password=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a few reads, without an ORM session: on a signed-in reader's every page
        (``web.reader_pages``) the session's setup and commit cost more than the reads. Nothing is
        written through it, and on PostgreSQL each read is its own statement (autocommit): two
        round trips fewer than a transaction around them."""
        with self.engine.connect() as connection:
            if is_postgres(self.engine):  # no BEGIN and ROLLBACK round trips around the reads
                connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            lock_for_transaction(connection, "migrate")  # several workers may start at once
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@lru_cache(maxsize=4)
def get_database(url: str | None = None) -> Database:
    """The process-wide database for ``url`` (default: the configured one)."""
    return Database(url or get_settings().database_url)
