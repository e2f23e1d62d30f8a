"""``papertide sources list|add|remove|run``: what the worker harvests, and how it went."""

from __future__ import annotations

import json
from datetime import datetime

import click

from papertide.cli.common import open_database
from papertide.config import get_settings


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@click.group()
def sources() -> None:
    """The sources the worker harvests (also on the admin page, /admin/sources)."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
def list_sources(as_json: bool) -> None:
    """Each source: what it fetches, its last run, next run, papers added, last error."""
    from papertide.worker.clock import SystemClock
    from papertide.worker.status import source_statuses

    statuses = source_statuses(open_database(), SystemClock().now())
    if as_json:
        click.echo(json.dumps([status.as_json() for status in statuses]))
        return
    if not statuses:
        click.echo("no sources: add one with `papertide sources add`")
    for s in statuses:
        click.echo(f"{s.name}: {s.what}; {s.schedule}")
        state = "running now" if s.running_since else (s.last_status or "never run")
        click.echo(f"  last run    {_when(s.last_run_at)}  {state}  {s.last_summary or ''}".rstrip())
        click.echo(f"  next run    {'as soon as a worker is free' if s.asked else _when(s.next_run_at)}")
        click.echo(f"  added       {s.last_added:,} last run, {s.papers_added:,} in all")
        if s.last_error:
            click.echo(f"  last error  {_when(s.last_error_at)}  {s.last_error}")


@sources.group("add")
def add() -> None:
    """Add a source (its first run is due at once)."""


def _store(spec_factory, *args, **kwargs) -> None:
    from papertide.worker import sources as store

    try:
        spec = spec_factory(*args, **kwargs)
        store.add(open_database(), spec)
    except store.SourceConfigError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"added source {spec.name}: {store.schedule_of(spec).describe()}")


schedule_at = click.option("--at", "daily_at", default="23:00", show_default=True, help="Time of day (HH:MM) it runs.")
schedule_zone = click.option("--timezone", default="America/New_York", show_default=True,
                             help="Time zone of --at (arXiv announces in US Eastern time).")


@add.command("hf")
@click.option("--name", default="hf-daily", show_default=True)
@click.option("--days", type=int, default=2, show_default=True, help="Days fetched each run: 2 = today and yesterday.")
@click.option("--every", "every_minutes", type=click.IntRange(min=1), default=30, show_default=True, help="Minutes between runs.")
def add_hf(name: str, days: int, every_minutes: int) -> None:
    """The Hugging Face daily papers list (PAPERTIDE_HF_API_URL)."""
    from papertide.worker.sources import hf_daily

    _store(hf_daily, name=name, days=days, every_minutes=every_minutes)


@add.command("arxiv")
@click.argument("category")
@click.option("--name", help="Default: arxiv-CATEGORY.")
@click.option("--via", type=click.Choice(["oai", "api"]), default="oai", show_default=True,
              help="OAI-PMH (arXiv's bulk interface) or the API's listing.")
@click.option("--backfill", "backfill_days", type=int, default=1, show_default=True, help="Days back the first run starts.")
@click.option("--set", "oai_set", help="OAI-PMH set to read (default: the category's archive, e.g. cs or physics:hep-th).")
@schedule_at
@schedule_zone
def add_arxiv(category: str, name: str | None, via: str, backfill_days: int, oai_set: str | None, daily_at: str, timezone: str) -> None:
    """An arXiv category (cs.CL) or archive (math), fetched once a day after arXiv's announcement."""
    from papertide.worker.sources import arxiv_category

    _store(arxiv_category, category, name=name, via=via, backfill_days=backfill_days, oai_set=oai_set,
           daily_at=daily_at, timezone=timezone)


@add.command("ids")
@click.argument("name")
@click.argument("ids", nargs=-1, required=True)
@schedule_at
@schedule_zone
def add_ids(name: str, ids: tuple[str, ...], daily_at: str, timezone: str) -> None:
    """A list of arXiv ids (e.g. 2405.15738 2104.12255v1), fetched once a day for new versions."""
    from papertide.worker.sources import arxiv_ids

    _store(arxiv_ids, name, list(ids), daily_at=daily_at, timezone=timezone)


@sources.command()
@click.argument("name")
def remove(name: str) -> None:
    """Stop harvesting NAME (the papers it brought stay in the catalog)."""
    from papertide.worker import sources as store

    if not store.remove(open_database(), name):
        raise click.ClickException(f"no source named {name!r} (see `papertide sources list`)")
    click.echo(f"removed source {name}")


@sources.command()
@click.argument("name")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def run(name: str, quiet: bool) -> None:
    """Harvest NAME now, here, then embed and index what it brought (unless a worker is on it already)."""
    from papertide.cli.worker import stop_on_signals
    from papertide.worker import leases, sources as store
    from papertide.worker.pipeline import INDEX
    from papertide.worker.scheduler import Worker

    database = open_database()
    if store.get(database, name) is None:
        raise click.ClickException(f"no source named {name!r} (see `papertide sources list`)")
    job = store.job_name(name)
    leases.request_run(database, job)
    runner = Worker(database, get_settings(), progress=not quiet)
    stop_on_signals(runner)
    result = runner.run_job(job)
    if result is None:
        raise click.ClickException(f"{name} is being harvested by a worker right now; it runs again when that run ends")
    click.echo(result.line())
    indexed = runner.run_job(INDEX)
    if indexed is not None:
        click.echo(indexed.line())
    if not result.ok or (indexed is not None and not indexed.ok):
        raise SystemExit(1)
