"""Where a database stands, found without changing it: is it there, and is its schema current.

Read-only commands (``stats``, ``search``, ``config show``) and the readiness check must never
create or migrate a database, so they ask here first: ``missing_sqlite_file`` before any
connection (connecting to a missing SQLite file creates it), then ``schema_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from papertide.db import MIGRATIONS_DIR, alembic_config


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the database's Alembic revision; None: no papertide schema at all
    head: str  # the newest revision this papertide knows

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def problem(self) -> str | None:
        """What is wrong, in words that say what to do; None when the schema is current."""
        if self.current is None:
            return "it has no papertide schema: run `papertide init`"
        if not self.at_head:
            return f"its schema is at revision {self.current}, this papertide needs {self.head}: run `papertide init`"
        return None


def missing_sqlite_file(database_url: str) -> Path | None:
    """The path of a SQLite database file that does not exist; None otherwise (PostgreSQL, in-memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    path = Path(url.database).expanduser()
    return None if path.is_file() else path


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration shipped with this papertide (read from the scripts once)."""
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:  # pragma: no cover - a branched history is a packaging mistake
        raise RuntimeError(f"the migrations in {MIGRATIONS_DIR} have {len(heads)} heads: {heads}")
    return heads[0]


def schema_state(connection: Connection) -> SchemaState:
    """The database's revision against the head (one query of ``alembic_version``)."""
    return SchemaState(MigrationContext.configure(connection).get_current_revision(), head_revision())
