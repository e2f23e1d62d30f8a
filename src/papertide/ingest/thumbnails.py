"""Fetching papers' PDFs and keeping a first-page thumbnail of each (``papertide thumbnails fetch``).

Papers on the daily list get one, newest first. Every PDF request takes its turn in the pace
shared by every process (``DatabasePacer``: ``settings.arxiv_delay``, 3 seconds, between requests
to arXiv, harvests and submissions included) and backs off on 429/503 (``PoliteFetcher``).

Failure modes, and what each leaves behind:

* arXiv has no PDF (404, 403, 410): ``missing``, never asked again;
* any other failure (network, 5xx after retries, a PDF PDFium cannot open): ``failed``, tried
  again after ``RETRY_AFTER`` times 4 per earlier attempt, ``MAX_ATTEMPTS`` times in all;
* a crash mid-paper: the claim (``claimed_until``) runs out and the next run takes it again;
* two runs at once: each paper is claimed by one of them, so no PDF is fetched twice.

The image is written under a new name and only then recorded, so a reader never gets a name
whose file is not there yet; the old file of a paper rendered again is removed afterwards.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from papertide.catalog import versions
from papertide.catalog.models import DailyEntry, Paper, PaperThumbnail
from papertide.catalog.thumbnails import file_name, thumbnails_folder
from papertide.config import Settings
from papertide.db import Database, dialect_insert
from papertide.ingest.http import FetchError, PoliteFetcher
from papertide.ingest.pacing import DatabasePacer
from papertide.ingest.pdf_thumbnail import NotAPdf, render_first_page
from papertide.orm import utcnow

MAX_PDF_BYTES = 60 * 1024 * 1024
MAX_ATTEMPTS = 4
RETRY_AFTER = timedelta(hours=1)
CLAIM = timedelta(minutes=15)  # longer than any one fetch, retries included
GONE = frozenset({403, 404, 410})

_thumbnails = PaperThumbnail.__table__


@dataclass
class ThumbnailRun:
    done: int = 0
    failed: int = 0
    missing: int = 0

    def line(self) -> str:
        return f"rendered {self.done:,} / failed {self.failed:,} (tried again later) / no PDF {self.missing:,}"


def arxiv_fetcher(database: Database, settings: Settings) -> PoliteFetcher:
    """The fetcher every arXiv request of a job uses: the installation's shared pace."""
    return PoliteFetcher(delay=settings.arxiv_delay, pacer=DatabasePacer(database), timeout=60.0)


def papers_due(database: Database, now: datetime, limit: int) -> list[tuple[int, str]]:
    """(id, arXiv id) of daily-list papers without a thumbnail that may be tried now, newest first.
    A local paper (not on arXiv) has no PDF there to fetch, and is never due."""
    due = or_(
        PaperThumbnail.paper_id.is_(None),
        and_(PaperThumbnail.status.in_(("pending", "failed")), PaperThumbnail.attempts < MAX_ATTEMPTS,
             or_(PaperThumbnail.next_attempt_at.is_(None), PaperThumbnail.next_attempt_at <= now),
             or_(PaperThumbnail.claimed_until.is_(None), PaperThumbnail.claimed_until <= now)),
    )
    with database.session() as session:
        return [tuple(row) for row in session.execute(
            select(Paper.id, Paper.arxiv_id).join(DailyEntry, DailyEntry.paper_id == Paper.id)
            .outerjoin(PaperThumbnail, PaperThumbnail.paper_id == Paper.id)
            .where(Paper.hidden.is_(False), Paper.on_arxiv(), due)
            .order_by(DailyEntry.daily_date.desc(), DailyEntry.submitted_at.desc(), Paper.id.desc()).limit(limit)
        )]


def claim(database: Database, paper_id: int, now: datetime) -> bool:
    """Take the paper for this run until ``now + CLAIM``; False if another run holds it or it is settled."""
    with database.session() as session:
        session.execute(dialect_insert(session, _thumbnails).values(paper_id=paper_id, status="pending", attempts=0,
                                                                    updated_at=now).on_conflict_do_nothing())
        taken = session.execute(
            update(_thumbnails).where(
                _thumbnails.c.paper_id == paper_id, _thumbnails.c.status.in_(("pending", "failed")),
                or_(_thumbnails.c.claimed_until.is_(None), _thumbnails.c.claimed_until <= now),
            ).values(claimed_until=now + CLAIM).returning(_thumbnails.c.paper_id)
        ).first()
    return taken is not None


def fetch_thumbnails(database: Database, settings: Settings, limit: int = 50, *, fetcher: PoliteFetcher | None = None,
                     now: datetime | None = None, progress=None, stop: threading.Event | None = None) -> ThumbnailRun:
    """Render the thumbnails of up to ``limit`` papers that need one; ``progress(arxiv_id, outcome)``
    is told about each. Safe to run from several processes at once and to stop at any point;
    ``stop`` (a worker shutting down) ends the run after the paper in hand."""
    now = now or utcnow()
    folder = thumbnails_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    own_fetcher = fetcher is None
    fetcher = fetcher or arxiv_fetcher(database, settings)
    run = ThumbnailRun()
    try:
        for paper_id, arxiv_id in papers_due(database, now, limit):
            if stop is not None and stop.is_set():
                break
            if not claim(database, paper_id, now):
                continue
            outcome = _one(database, fetcher, settings, folder, paper_id, arxiv_id, now)
            setattr(run, outcome, getattr(run, outcome) + 1)
            if progress:
                progress(arxiv_id, outcome)
    finally:
        if own_fetcher:
            fetcher.close()
    return run


def _one(database, fetcher, settings, folder, paper_id: int, arxiv_id: str, now: datetime) -> str:
    try:
        response = fetcher.get(f"{settings.arxiv_pdf_url}/{arxiv_id}")
        if len(response.content) > MAX_PDF_BYTES:
            raise NotAPdf(f"the PDF is larger than {MAX_PDF_BYTES // 2**20} MB")
        thumbnail = render_first_page(response.content)
    except FetchError as error:
        if error.status in GONE:
            return _settle(database, paper_id, status="missing", last_error=str(error)[:500], now=now)
        return _failed(database, paper_id, str(error), now)
    except NotAPdf as error:
        return _failed(database, paper_id, str(error), now)
    name = file_name(paper_id, thumbnail.image)
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(thumbnail.image)
    os.replace(temporary, folder / name)
    with database.session() as session:
        previous = session.scalar(select(_thumbnails.c.file).where(_thumbnails.c.paper_id == paper_id))
    _settle(database, paper_id, status="done", file=name, width=thumbnail.width, height=thumbnail.height,
            last_error=None, now=now)
    if previous and previous != name:
        (folder / previous).unlink(missing_ok=True)
    return "done"


def _failed(database: Database, paper_id: int, message: str, now: datetime) -> str:
    with database.session() as session:
        attempts = session.scalar(select(_thumbnails.c.attempts).where(_thumbnails.c.paper_id == paper_id)) or 0
    _settle(database, paper_id, status="failed", attempts=attempts + 1, last_error=message[:500],
            next_attempt_at=now + RETRY_AFTER * 4 ** attempts, now=now)
    return "failed"


def _settle(database: Database, paper_id: int, *, now: datetime, **values) -> str:
    """Record the outcome, release the claim, and (for a new image) tell caches the card changed."""
    with database.session() as session:
        session.execute(update(_thumbnails).where(_thumbnails.c.paper_id == paper_id)
                        .values(claimed_until=None, updated_at=now, **values))
        if values["status"] == "done":
            versions.bump_for_paper(session, paper_id)
    return values["status"]
