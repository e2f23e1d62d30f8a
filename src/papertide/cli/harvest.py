"""``papertide harvest ...``: pulling papers from arXiv and Hugging Face over the network.

Base URLs come from settings (``PAPERTIDE_ARXIV_API_URL``, ``PAPERTIDE_ARXIV_OAI_URL``,
``PAPERTIDE_HF_API_URL``). Every request is paced (``--delay``, arXiv asks for 3 s) and retried
with backoff when the server says 429/503. The output and exit code follow ``papertide ingest``.
"""

from __future__ import annotations

import click

from papertide.catalog.checkpoints import load_checkpoint, save_checkpoint
from papertide.cli.common import open_database
from papertide.config import get_settings
from papertide.db import Database
from papertide.ingest.arxiv_api import ArxivClient, ArxivQuerySource
from papertide.ingest.base import Rejected, Source
from papertide.ingest.hf_daily import HfDailyApiSource
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.oai_pmh import METADATA_FORMATS, HarvestRequest, OaiHarvestSource
from papertide.ingest.runner import ingest

MAX_REJECTIONS_SHOWN = 20
ARXIV_DELAY = 3.0  # seconds between requests, as arXiv's API terms ask

quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
delay_option = click.option("--delay", type=click.FloatRange(min=0), default=ARXIV_DELAY, show_default=True,
                            help="Seconds between requests.")


@click.group()
def harvest() -> None:
    """Fetch papers from arXiv (OAI-PMH or the API) or Hugging Face daily papers."""


@harvest.command("arxiv")
@click.option("--from", "from_date", type=click.DateTime(["%Y-%m-%d"]), help="First datestamp (YYYY-MM-DD).")
@click.option("--until", "until_date", type=click.DateTime(["%Y-%m-%d"]), help="Last datestamp (YYYY-MM-DD).")
@click.option("--set", "set_spec", help="OAI set, e.g. cs, math, physics:hep-th.")
@click.option("--format", "metadata_prefix", type=click.Choice(METADATA_FORMATS), default="arXivRaw", show_default=True,
              help="arXivRaw carries every version; oai_dc is plain Dublin Core.")
@click.option("--restart", is_flag=True, help="Forget where an interrupted harvest stopped and start over.")
@delay_option
@quiet_option
def harvest_arxiv(from_date, until_date, set_spec, metadata_prefix, restart, delay, quiet) -> None:
    """Harvest arXiv's OAI-PMH feed (ListRecords) for a date range and set.

    Each page is stored with its resumption token, so an interrupted harvest picks up where it
    stopped when the same command is run again.
    """
    if from_date and until_date and from_date > until_date:
        raise click.BadParameter("--from is after --until")
    request = HarvestRequest(
        base_url=get_settings().arxiv_oai_url,
        metadata_prefix=metadata_prefix,
        from_date=from_date.date() if from_date else None,
        until_date=until_date.date() if until_date else None,
        set_spec=set_spec,
    )
    database = open_database()
    with database.session() as session:
        if restart:
            save_checkpoint(session, request.key, None)
        state = load_checkpoint(session, request.key) or {}
    token = state.get("resumptionToken")
    if token:
        done = f" ({state['cursor']:,} of {state['completeListSize']:,} listed)" if state.get("cursor") and state.get("completeListSize") else ""
        click.echo(f"resuming the interrupted harvest{done}", err=True)
    source = OaiHarvestSource(request, PoliteFetcher(delay=delay), resume_token=token)
    _run(database, source, quiet)


@harvest.command("arxiv-ids")
@click.argument("ids", nargs=-1, required=True)
@delay_option
@quiet_option
def harvest_arxiv_ids(ids: tuple[str, ...], delay: float, quiet: bool) -> None:
    """Fetch papers by arXiv id from the arXiv API (e.g. 2405.15738 2104.12255v1 astro-ph/0601001)."""
    client = ArxivClient(get_settings().arxiv_api_url, PoliteFetcher(delay=delay))
    _run(open_database(), ArxivQuerySource(client, ids=list(ids)), quiet)


@harvest.command("arxiv-search")
@click.argument("query")
@click.option("--max", "max_results", type=click.IntRange(min=1), default=100, show_default=True)
@delay_option
@quiet_option
def harvest_arxiv_search(query: str, max_results: int, delay: float, quiet: bool) -> None:
    """Fetch the papers matching an arXiv API search (e.g. 'cat:cs.CL AND ti:retrieval')."""
    client = ArxivClient(get_settings().arxiv_api_url, PoliteFetcher(delay=delay))
    _run(open_database(), ArxivQuerySource(client, query=query, max_results=max_results), quiet)


@harvest.command("hf")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day (YYYY-MM-DD).")
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Seconds between requests.")
@quiet_option
def harvest_hf(day, delay: float, quiet: bool) -> None:
    """Fetch one day of Hugging Face daily papers (GET /api/daily_papers?date=D)."""
    source = HfDailyApiSource(get_settings().hf_api_url, day.date(), PoliteFetcher(delay=delay))
    _run(open_database(), source, quiet)


def _run(database: Database, source: Source, quiet: bool) -> None:
    """Ingest ``source``, report rejections and the summary line; exit 1 if the source failed."""
    shown = 0

    def report(rejected: Rejected) -> None:
        nonlocal shown
        if shown < MAX_REJECTIONS_SHOWN:
            click.echo(f"{source.describe()}: {rejected}", err=True)
        shown += 1

    summary = ingest(database, source, progress=not quiet, on_reject=report)
    if shown > MAX_REJECTIONS_SHOWN:
        click.echo(f"... and {shown - MAX_REJECTIONS_SHOWN:,} more rejected records", err=True)
    if summary.error:
        click.echo(f"error: {summary.error}", err=True)
    click.echo(summary.line())
    if summary.error:
        raise SystemExit(1)

