"""``papertide init``, ``ingest`` and ``stats``: creating and filling the catalog."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.cli.common import RejectionReport, open_database, open_existing_database
from papertide.community.models import Comment, User, Vote
from papertide.digest.models import Subscription
from papertide.ingest.base import SourceError
from papertide.ingest.detect import open_source
from papertide.ingest.runner import IngestSummary, ingest as run_ingest
from papertide.worker.status import pipeline_figures


@click.command()
def init() -> None:
    """Create the database (or bring it to the newest schema)."""
    database = open_database()
    click.echo(f"database ready: {database.display_url}")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[str, ...], quiet: bool) -> None:
    """Load papers from files: JSONL (plain or .gz), Hugging Face daily_papers JSON, arXiv Atom or
    OAI-PMH XML. The format is detected from the content; '-' reads standard input.

    Ingesting the same input twice changes nothing. Bad records are reported with their line and
    skipped; the command fails (exit 1) only when an input as a whole is unusable.
    """
    database = open_database()
    summary = IngestSummary()
    failed = False
    for path in paths:
        report = RejectionReport(path)
        before = summary.total
        try:
            source = open_source(path)
        except SourceError as error:
            click.echo(f"error: {error}", err=True)
            failed = True
            continue
        rejected_before = len(summary.rejected)
        summary.error = None
        run_ingest(database, source, progress=not quiet, on_reject=report, summary=summary)
        report.finish()
        read = summary.total - before
        rejected_here = len(summary.rejected) - rejected_before
        if summary.error:
            click.echo(f"error: {summary.error}", err=True)
            failed = True
        elif read == 0 or rejected_here == read:
            click.echo(f"error: {path}: no usable records", err=True)
            failed = True
    click.echo(summary.line())
    if failed:
        raise SystemExit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(as_json: bool) -> None:
    """What the catalog holds (read-only: a missing database is an error, never created)."""
    database = open_existing_database()
    with database.session() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        first, last = session.execute(select(func.min(DailyEntry.daily_date), func.max(DailyEntry.daily_date))).one()
        figures = {
            "papers": count(Paper),
            "daily_entries": count(DailyEntry),
            "days": session.scalar(select(func.count(func.distinct(DailyEntry.daily_date)))),
            "first_day": first.isoformat() if first else None,
            "last_day": last.isoformat() if last else None,
            "organizations": count(Organization),
            "users": count(User),
            "votes": count(Vote),
            "comments": count(Comment),
            "subscriptions": count(Subscription),
            **pipeline_figures(session),  # embedded (papers with a vector), each source's last harvest
        }
    if as_json:
        import json

        click.echo(json.dumps(figures))
        return
    harvested = figures.pop("sources")
    figures.update({f"source {name}": when or "never harvested" for name, when in harvested.items()})
    width = max(map(len, figures))
    for name, value in figures.items():
        click.echo(f"{name.replace('_', ' '):<{width}}  {value if not isinstance(value, int) else f'{value:,}'}")
