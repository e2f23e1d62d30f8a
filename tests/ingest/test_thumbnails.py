"""Thumbnails: real PDFs (made with PDFium) served over real HTTP, paced through the database,
rendered to WebP, recorded, shown on the cards and served by the site."""

from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from papertide.catalog.models import PaperThumbnail, SourcePacing
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.pacing import DatabasePacer
from papertide.ingest.thumbnails import fetch_thumbnails
from tests.catalog.helpers import NOW, seed
from tests.ingest.pdfs import make_pdf, serve_pdfs
from tests.web.helpers import build_app, settings_for

RED, BLUE = (220, 30, 30), (30, 30, 220)


@pytest.fixture
def arxiv():
    """A local stand-in for arXiv's PDF host: a real HTTP server answering from ``pdfs``."""
    pdfs: dict[str, bytes] = {}
    asked: Counter[str] = Counter()
    with serve_pdfs(pdfs, asked) as url:
        yield url, pdfs, asked


def test_thumbnails_are_fetched_paced_rendered_and_shown_on_cards(database, tmp_path, arxiv):
    url, pdfs, asked = arxiv
    seed(database)
    pdfs["2508.00004"] = make_pdf(RED, BLUE)  # two pages: only the first is drawn
    pdfs["2508.00005"] = make_pdf(BLUE)
    pdfs["2508.00006"] = b"<html>a captcha page, not a PDF</html>"
    settings = settings_for(database, arxiv_pdf_url=url, thumbnails_dir=str(tmp_path / "thumbs"))
    waits: list[float] = []
    delay = settings.arxiv_delay  # arXiv's 3 seconds
    fetcher = PoliteFetcher(delay=delay, pacer=DatabasePacer(database), sleep=waits.append)

    run = fetch_thumbnails(database, settings, 10, fetcher=fetcher, now=NOW)

    # Six papers are on the daily list: two rendered, one not a PDF, three that arXiv has not.
    assert (run.done, run.failed, run.missing) == (2, 1, 3)
    assert sum(asked.values()) == 6
    # Paced through the shared table: the sleeps here are recorded, not slept, so the clock stands
    # still and each request's turn is one delay after the one reserved before it.
    assert len(waits) == 5
    assert delay == 3.0 and all(abs(wait - delay * turn) < 1.0 for turn, wait in enumerate(waits, start=1)), waits
    with database.session() as session:
        assert session.get(SourcePacing, "127.0.0.1") is not None
        rows = {t.paper_id: t for t in session.scalars(select(PaperThumbnail))}
    done = [t for t in rows.values() if t.status == "done"]
    assert len(done) == 2 and all(t.width == 360 and t.height == 466 for t in done)
    failed = next(t for t in rows.values() if t.status == "failed")
    assert "not a PDF" in failed.last_error and failed.next_attempt_at > NOW

    client = TestClient(build_app(settings, database, clock=lambda: NOW))
    page = client.get("/?date=2025-08-21").text
    images = {t.paper_id: f'/thumbnails/{t.file}' for t in done}
    assert all(src in page for src in images.values())
    answer = client.get(next(iter(images.values())))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp"
    assert "immutable" in answer.headers["cache-control"]
    first = Image.open(io.BytesIO(client.get(_src_of(page, "2508.00004")).content)).convert("RGB")
    assert _near(first.getpixel((20, 20)), RED) and _near(first.getpixel((20, first.height - 20)), (255, 255, 255))
    assert client.get("/thumbnails/../papertide.db").status_code == 404

    # A second run asks for nothing: rendered and missing papers are settled, the failed one waits.
    again = fetch_thumbnails(database, settings, 10, fetcher=fetcher, now=NOW + timedelta(minutes=5))
    assert (again.done, again.failed, again.missing) == (0, 0, 0) and sum(asked.values()) == 6
    # After its back-off, the failed paper is tried again, and now arXiv has its PDF.
    pdfs["2508.00006"] = make_pdf(BLUE)
    later = fetch_thumbnails(database, settings, 10, fetcher=fetcher, now=NOW + timedelta(hours=2))
    assert (later.done, later.failed, later.missing) == (1, 0, 0) and asked["2508.00006"] == 2


def _src_of(page: str, arxiv_id: str) -> str:
    card = page[page.index(f'data-arxiv-id="{arxiv_id}"'):]
    start = card.index('src="/thumbnails/') + len('src="')
    return card[start:card.index('"', start)]


def _near(pixel, colour, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def test_a_stopping_worker_ends_the_run_before_the_next_paper(database, tmp_path, arxiv):
    url, pdfs, asked = arxiv
    seed(database)
    pdfs["2508.00004"] = make_pdf(RED)
    settings = settings_for(database, arxiv_pdf_url=url, thumbnails_dir=str(tmp_path / "thumbs"))
    stop = threading.Event()

    def stop_after_first(arxiv_id, outcome):
        stop.set()

    run = fetch_thumbnails(database, settings, 10, fetcher=PoliteFetcher(delay=0), now=NOW, progress=stop_after_first,
                           stop=stop)
    assert run.done + run.failed + run.missing == 1 and sum(asked.values()) == 1
    with database.session() as session:  # nothing left claimed: the next run takes the rest at once
        assert session.scalars(select(PaperThumbnail.claimed_until)).all() == [None]
