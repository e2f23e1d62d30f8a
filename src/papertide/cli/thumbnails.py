"""``papertide thumbnails fetch``: first-page thumbnails for the papers on the daily list."""

from __future__ import annotations

import click

from papertide.cli.common import open_database
from papertide.config import get_settings
from papertide.ingest.thumbnails import fetch_thumbnails


@click.group()
def thumbnails() -> None:
    """First-page thumbnails shown on paper cards."""


@thumbnails.command("fetch")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="Papers to try in this run (each PDF takes its 3-second turn at arXiv).")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def fetch(limit: int, quiet: bool) -> None:
    """Fetch the PDFs of the newest papers that have no thumbnail yet and render their first page.

    Paced with every other arXiv request of the installation; safe to run from cron or from
    several machines at once, and to interrupt.
    """
    database = open_database()

    def report(arxiv_id: str, outcome: str) -> None:
        if not quiet:
            click.echo(f"{arxiv_id}: {outcome}")

    run = fetch_thumbnails(database, get_settings(), limit, progress=report)
    click.echo(run.line())
