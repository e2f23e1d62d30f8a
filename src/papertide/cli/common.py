"""What the commands share: the database, brought to the current schema or opened as it is."""

from __future__ import annotations

import click

from papertide.config import get_settings
from papertide.db import Database, get_database
from papertide.ingest.base import Rejected
from papertide.schema_status import missing_sqlite_file, schema_state


def open_database() -> Database:
    """The configured database, migrated to the newest schema (cheap when already there)."""
    database = get_database()
    try:
        database.migrate()
    except Exception as error:  # a bad URL or an unreachable server: say so, no traceback
        raise click.ClickException(f"cannot open the database {database.display_url}: {error}") from error
    return database


def open_existing_database() -> Database:
    """The configured database for a read-only command: never created, never migrated.

    A missing SQLite file, an unreachable server or a schema that is not current is one clear
    error (exit status 1), not an empty database created by a mistyped path.
    """
    url = get_settings().database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise click.ClickException(f"no database at {missing}: check PAPERTIDE_DATABASE_URL, or create one with `papertide init`")
    database = get_database()
    try:
        with database.engine.connect() as connection:
            problem = schema_state(connection).problem()
    except Exception as error:  # an unreachable server, a file that is not a database: say so, no traceback
        raise click.ClickException(f"cannot open the database {database.display_url}: {error}") from error
    if problem:
        raise click.ClickException(f"the database {database.display_url} cannot be read: {problem}")
    return database


class RejectionReport:
    """Prints an input's first rejected records to stderr, then how many more there were."""

    def __init__(self, prefix: str, limit: int = 20):
        self.prefix, self.limit, self.count = prefix, limit, 0

    def __call__(self, rejected: Rejected) -> None:
        if self.count < self.limit:
            click.echo(f"{self.prefix}: {rejected}", err=True)
        self.count += 1

    def finish(self) -> None:
        if self.count > self.limit:
            click.echo(f"{self.prefix}: ... and {self.count - self.limit:,} more rejected records", err=True)
