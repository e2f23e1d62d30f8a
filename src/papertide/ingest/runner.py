"""Feeding a source into the catalog: batches, one transaction each, a progress bar, a summary.

Each batch is committed on its own, so an interrupted ingest (even ``kill -9``) leaves the
catalog as it was after the last whole batch; ingesting the same input again finishes the job
and, the upsert being idempotent, ends in the same state as one clean run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import UpsertCounts, upsert_papers
from papertide.db import Database
from papertide.ingest.base import Rejected, Source, SourceError

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
) -> IngestSummary:
    """Read every item of ``source`` into the catalog and say what happened.

    A ``SourceError`` part-way (a truncated file, a failed request) is recorded in
    ``summary.error`` after the records read before it have been stored.
    """
    summary = summary or IngestSummary()
    estimate = getattr(source, "estimated_total", None)
    total = estimate() if callable(estimate) else None
    batch: list[PaperRecord] = []

    def flush() -> None:
        if batch:
            with database.session() as session:
                summary.counts += upsert_papers(session, batch)
            batch.clear()

    with tqdm(total=total, desc=source.describe(), unit=" papers", disable=not progress, leave=False) as bar:
        try:
            for item in source:
                bar.update(1)
                if isinstance(item, Rejected):
                    summary.rejected.append(item)
                    if on_reject:
                        on_reject(item)
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
        except SourceError as error:
            summary.error = str(error)
        flush()
    return summary
