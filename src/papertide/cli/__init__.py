"""The ``papertide`` command line: one group, each command group in a module of its own."""

from __future__ import annotations

import click

from papertide import __version__
from papertide.cli.catalog import ingest, init, stats
from papertide.cli.config import config
from papertide.cli.digest import digest
from papertide.cli.harvest import harvest
from papertide.cli.db import db
from papertide.cli.search import index, search
from papertide.cli.serve import serve
from papertide.cli.sources import sources
from papertide.cli.thumbnails import thumbnails
from papertide.cli.users import users
from papertide.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="papertide")
@click.pass_context
def main(context: click.Context) -> None:
    """papertide: research-paper discovery you can run yourself.

    The database is PAPERTIDE_DATABASE_URL (default: sqlite:///papertide.db). Settings come from
    PAPERTIDE_* variables, .env and papertide.toml: see `papertide config show`.
    """
    from papertide.config import ConfigError, get_settings
    from papertide.logging_setup import configure_from_settings

    try:  # every command validates the settings first: a bad value is one line, exit status 2
        settings = get_settings()
    except ConfigError as error:
        click.echo(f"papertide: invalid setting: {error}", err=True)
        context.exit(2)
    configure_from_settings(settings)


main.add_command(init)
main.add_command(ingest)
main.add_command(stats)
main.add_command(serve)
main.add_command(digest)
main.add_command(harvest)
main.add_command(db)
main.add_command(search)
main.add_command(index)
main.add_command(users)
main.add_command(worker)
main.add_command(sources)
main.add_command(config)
main.add_command(thumbnails)
