"""What the commands share: the database, brought to the current schema."""

from __future__ import annotations

import click

from papertide.db import Database, get_database
from papertide.ingest.base import Rejected


def open_database() -> Database:
    """The configured database, migrated to the newest schema (cheap when already there)."""
    database = get_database()
    try:
        database.migrate()
    except Exception as error:  # a bad URL or an unreachable server: say so, no traceback
        raise click.ClickException(f"cannot open the database {database.display_url}: {error}") from error
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
