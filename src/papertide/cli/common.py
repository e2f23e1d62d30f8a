"""What the commands share: the database, brought to the current schema."""

from __future__ import annotations

import click

from papertide.db import Database, get_database


def open_database() -> Database:
    """The configured database, migrated to the newest schema (cheap when already there)."""
    database = get_database()
    try:
        database.migrate()
    except Exception as error:  # a bad URL or an unreachable server: say so, no traceback
        raise click.ClickException(f"cannot open the database {database.display_url}: {error}") from error
    return database
