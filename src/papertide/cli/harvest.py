"""``papertide harvest ...``: pulling papers from arXiv and Hugging Face over the network.

Base URLs come from settings (``PAPERTIDE_ARXIV_API_URL``, ``PAPERTIDE_ARXIV_OAI_URL``,
``PAPERTIDE_HF_API_URL``). Every request is paced (``--delay``, arXiv asks for 3 s), and the pace
holds across every process that uses the same database (``ingest.pacing``): two harvests and the
web's "submit a paper" take turns. Requests are retried with backoff when the server says 429/503. The output and exit code follow ``papertide ingest``.
"""

from __future__ import annotations

import click

from papertide.catalog.checkpoints import load_checkpoint, save_checkpoint
from papertide.cli.common import RejectionReport, open_database
from papertide.config import get_settings
from papertide.db import Database
from papertide.ingest.arxiv_api import ArxivClient, ArxivQuerySource
from papertide.ingest.base import Source
from papertide.ingest.hf_daily import HfDailyApiSource
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.pacing import DatabasePacer
from papertide.ingest.oai_pmh import METADATA_FORMATS, HarvestRequest, OaiHarvestSource
from papertide.ingest.runner import ingest

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
    source = OaiHarvestSource(request, PoliteFetcher(delay=delay, pacer=DatabasePacer(database)), resume_token=token)
    _run(database, source, quiet)


@harvest.command("arxiv-ids")
@click.argument("ids", nargs=-1, required=True)
@delay_option
@quiet_option
def harvest_arxiv_ids(ids: tuple[str, ...], delay: float, quiet: bool) -> None:
    """Fetch papers by arXiv id from the arXiv API (e.g. 2405.15738 2104.12255v1 astro-ph/0601001)."""
    database = open_database()
    client = ArxivClient(get_settings().arxiv_api_url, PoliteFetcher(delay=delay, pacer=DatabasePacer(database)))
    _run(database, ArxivQuerySource(client, ids=list(ids)), quiet)


@harvest.command("arxiv-search")
@click.argument("query")
@click.option("--max", "max_results", type=click.IntRange(min=1), default=100, show_default=True)
@delay_option
@quiet_option
def harvest_arxiv_search(query: str, max_results: int, delay: float, quiet: bool) -> None:
    """Fetch the papers matching an arXiv API search (e.g. 'cat:cs.CL AND ti:retrieval')."""
    database = open_database()
    client = ArxivClient(get_settings().arxiv_api_url, PoliteFetcher(delay=delay, pacer=DatabasePacer(database)))
    _run(database, ArxivQuerySource(client, query=query, max_results=max_results), quiet)


@harvest.command("hf")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day (YYYY-MM-DD).")
@click.option("--from", "from_day", type=click.DateTime(["%Y-%m-%d"]), help="First day of a range, instead of --date.")
@click.option("--until", "until_day", type=click.DateTime(["%Y-%m-%d"]), help="Last day of the range (default: --from).")
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Seconds between requests.")
@quiet_option
def harvest_hf(day, from_day, until_day, delay: float, quiet: bool) -> None:
    """Fetch Hugging Face daily papers (GET /api/daily_papers?date=D), for one day or each day of a range."""
    if (day is None) == (from_day is None):
        raise click.UsageError("give --date, or --from (and optionally --until)")
    first = (day or from_day).date()
    last = until_day.date() if until_day else first
    if last < first:
        raise click.BadParameter("--until is before --from")
    database = open_database()
    source = HfDailyApiSource(get_settings().hf_api_url, first, PoliteFetcher(delay=delay, pacer=DatabasePacer(database)), last=last)
    _run(database, source, quiet)


def _run(database: Database, source: Source, quiet: bool) -> None:
    """Ingest ``source``, report rejections and the summary line; exit 1 if the source failed."""
    report = RejectionReport(source.describe())
    summary = ingest(database, source, progress=not quiet, on_reject=report)
    report.finish()
    if summary.error:
        click.echo(f"error: {summary.error}", err=True)
    click.echo(summary.line())
    if summary.error:
        raise SystemExit(1)
