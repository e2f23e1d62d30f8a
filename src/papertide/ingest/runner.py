"""Feeding a source into the catalog: batches, one transaction each, a progress bar, a summary.

Each batch is committed on its own, so an interrupted ingest (even ``kill -9``) leaves the
catalog as it was after the last whole batch; ingesting the same input again finishes the job
and, the upsert being idempotent, ends in the same state as one clean run. A ``Checkpoint``
from the source is stored in the same transaction as the records read before it, so a
resumable source (an OAI-PMH harvest) restarts exactly after the last page it stored.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tqdm import tqdm

from papertide.catalog.checkpoints import save_checkpoint
from papertide.catalog.record import PaperRecord
from papertide import metrics
from papertide.catalog.upsert import UpsertCounts, upsert_papers
from papertide.db import Database
from papertide.ingest.base import Checkpoint, Rejected, Source, SourceError

BATCH_SIZE = 1000


@dataclass
class IngestSummary:
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None  # set when the source as a whole failed part-way

    @property
    def total(self) -> int:
        c = self.counts
        return c.added + c.updated + c.unchanged + len(self.rejected)

    def line(self) -> str:
        c = self.counts
        return f"added {c.added:,} / updated {c.updated:,} / unchanged {c.unchanged:,} / rejected {len(self.rejected):,}"


def ingest(
    database: Database,
    source: Source,
    *,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    on_reject: Callable[[Rejected], None] | None = None,
    summary: IngestSummary | None = None,
    source_name: str | None = None,
) -> IngestSummary:
    """Read every item of ``source`` into the catalog and say what happened.

    A ``SourceError`` part-way (a truncated file, a failed request) is recorded in
    ``summary.error`` after the records read before it have been stored. New papers are counted
    in ``papertide_papers_ingested_total`` under ``source_name`` (default: the kind of source).
    """
    summary = summary or IngestSummary()
    label = source_name or type(source).__name__
    batch: list[PaperRecord] = []
    bar = tqdm(total=_call(source, "estimated_total"), desc=source.describe(), unit=" papers",
               disable=not progress, leave=False, dynamic_ncols=True)

    def flush(checkpoint: Checkpoint | None = None) -> None:
        if batch or checkpoint:
            counts = UpsertCounts()
            with database.session() as session:
                if batch:
                    counts = upsert_papers(session, batch)
                if checkpoint:
                    save_checkpoint(session, checkpoint.key, checkpoint.state)
            summary.counts += counts  # once committed
            metrics.papers_ingested(label, counts.added)
            batch.clear()
        _refresh_total(bar, source)

    with bar, _fewer_gc_pauses():
        try:
            for item in source:
                if isinstance(item, PaperRecord):
                    bar.update(1)
                    batch.append(item)
                    if len(batch) >= batch_size:
                        flush()
                elif isinstance(item, Rejected):
                    bar.update(1)
                    summary.rejected.append(item)
                    if on_reject:
                        on_reject(item)
                elif isinstance(item, Checkpoint):
                    flush(item)
        except SourceError as error:
            summary.error = str(error)
        flush()
    return summary


@contextmanager
def _fewer_gc_pauses() -> Iterator[None]:
    """Ingest allocates millions of short-lived objects; with the default thresholds the cyclic
    collector runs thousands of times and walks every long-lived object (the imported code,
    the ORM) each full pass. Freezing what exists and collecting less often saves that CPU;
    reference counting still frees almost everything at once, so memory stays flat."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _call(source: Source, method: str):
    function = getattr(source, method, None)
    return function() if callable(function) else None


def _refresh_total(bar: tqdm, source: Source) -> None:
    """Re-estimate the bar's total as the source learns more: from the share of a file read so
    far (no counting pre-pass), or from a total the source was told (an OAI-PMH list size)."""
    fraction = _call(source, "fraction_read")
    total = max(bar.n, round(bar.n / fraction)) if fraction and bar.n else _call(source, "estimated_total")
    if total and total != bar.total:
        bar.total = total
        bar.refresh()
