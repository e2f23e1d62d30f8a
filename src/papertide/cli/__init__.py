"""The ``papertide`` command line: one group, each command group in a module of its own."""

from __future__ import annotations

import click

from papertide import __version__
from papertide.cli.catalog import ingest, init, stats
from papertide.cli.digest import digest
from papertide.cli.harvest import harvest
from papertide.cli.db import db
from papertide.cli.search import index, search
from papertide.cli.serve import serve
from papertide.cli.thumbnails import thumbnails
from papertide.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="papertide")
def main() -> None:
    """papertide: research-paper discovery you can run yourself.

    The database is PAPERTIDE_DATABASE_URL (default: sqlite:///papertide.db).
    """


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
main.add_command(thumbnails)
