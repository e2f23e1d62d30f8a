"""Harvesting one stored source: the ingest source its row describes, run through the ingest runner.

Every request goes through a ``PoliteFetcher`` paced by ``DatabasePacer``, so arXiv sees one
request per ``PAPERTIDE_ARXIV_DELAY`` seconds from the whole installation, however many workers,
harvests and web workers ask at once.

An arXiv category remembers how far it got as a checkpoint of its own (``source:<name>``: the
day the next run starts from), stored by the runner in the same transaction as the last batch.
The OAI-PMH harvest inside it keeps its resumption-token checkpoint as ``papertide harvest arxiv``
does, so a worker that takes over a killed harvest resumes from the last page stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from papertide.catalog.checkpoints import load_checkpoint
from papertide.catalog.record import PaperRecord
from papertide.config import Settings
from papertide.db import Database
from papertide.ingest.arxiv_api import ArxivClient, ArxivQuerySource
from papertide.ingest.base import Checkpoint, Source as IngestSource, SourceError, SourceItem
from papertide.ingest.hf_daily import HfDailyApiSource
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.oai_pmh import HarvestRequest, OaiError, OaiHarvestSource
from papertide.ingest.pacing import DatabasePacer
from papertide.ingest.runner import IngestSummary, ingest
from papertide.worker.models import Source


def checkpoint_key(source_name: str) -> str:
    return f"source:{source_name}"


def harvest(database: Database, settings: Settings, source: Source, now: datetime, *, progress: bool = False) -> IngestSummary:
    """Fetch ``source`` as of ``now`` into the catalog; ``summary.error`` says if it failed part-way."""
    fetcher = PoliteFetcher(delay=settings.hf_delay if source.kind == "hf-daily" else settings.arxiv_delay,
                            pacer=DatabasePacer(database))
    try:
        return ingest(database, build(database, settings, source, now.date(), fetcher), progress=progress,
                      source_name=source.name)
    finally:
        fetcher.close()


def build(database: Database, settings: Settings, source: Source, today: date, fetcher: PoliteFetcher) -> IngestSource:
    """The ingest source that fetches what ``source`` is due to fetch on ``today`` (UTC)."""
    params = source.params
    if source.kind == "hf-daily":
        first = today - timedelta(days=int(params.get("days", 2)) - 1)
        return HfDailyApiSource(settings.hf_api_url, first, fetcher, last=today)
    if source.kind == "arxiv-ids":
        return ArxivQuerySource(ArxivClient(settings.arxiv_api_url, fetcher), ids=list(params["ids"]))
    if source.kind == "arxiv-category":
        return _category(database, settings, source, today, fetcher)
    raise SourceError(f"source {source.name!r} has an unknown kind {source.kind!r}")


def _category(database: Database, settings: Settings, source: Source, today: date, fetcher: PoliteFetcher) -> "CategoryHarvest":
    params, key = source.params, checkpoint_key(source.name)
    with database.session() as session:
        progress = load_checkpoint(session, key) or {}
    first = date.fromisoformat(progress["next_from"]) if "next_from" in progress else today - timedelta(days=int(params.get("backfill_days", 1)))
    done = Checkpoint(key, {"next_from": today.isoformat()})  # the day the run started: its records may still grow
    if params.get("via", "oai") == "api":
        query = f"cat:{params['category']} AND submittedDate:[{first:%Y%m%d}0000 TO {today + timedelta(days=1):%Y%m%d}0000]"
        inner = ArxivQuerySource(ArxivClient(settings.arxiv_api_url, fetcher), query=query)
        return CategoryHarvest(inner, params["category"], done)
    request = HarvestRequest(settings.arxiv_oai_url, "arXivRaw", from_date=first, set_spec=params.get("set"))
    with database.session() as session:
        token = (load_checkpoint(session, request.key) or {}).get("resumptionToken")
    return CategoryHarvest(OaiHarvestSource(request, fetcher, resume_token=token), params["category"], done, request.key)


def in_category(record: PaperRecord, category: str) -> bool:
    """``cs.CL`` matches papers listed in cs.CL; an archive (``math``) matches any of its categories."""
    return any(c == category or c.startswith(category + ".") for c in record.categories)


class CategoryHarvest:
    """An arXiv listing narrowed to one category, which ends by storing where the next run starts.

    An OAI-PMH set is a whole archive (cs, physics:hep-th), so records outside the category are
    dropped here. A resumption token that arXiv no longer honours is forgotten (the next attempt
    starts the window over; the upsert being idempotent, nothing is doubled).
    """

    def __init__(self, inner: IngestSource, category: str, done: Checkpoint, oai_key: str | None = None):
        self.inner, self.category, self.done, self.oai_key = inner, category, done, oai_key

    def describe(self) -> str:
        return f"{self.inner.describe()} [{self.category}]"

    def estimated_total(self) -> int | None:
        estimate = getattr(self.inner, "estimated_total", None)
        return estimate() if callable(estimate) else None

    def __iter__(self) -> Iterator[SourceItem | Checkpoint]:
        try:
            for item in self.inner:
                if not isinstance(item, PaperRecord) or in_category(item, self.category):
                    yield item
        except OaiError as error:
            if error.code == "badResumptionToken" and self.oai_key:
                yield Checkpoint(self.oai_key, None)
                raise SourceError("OAI-PMH: arXiv no longer accepts the saved resumption token; "
                                  "the next run starts this harvest over") from error
            raise
        yield self.done
