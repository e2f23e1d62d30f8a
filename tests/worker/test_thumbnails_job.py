"""With PAPERTIDE_THUMBNAILS=on the worker renders the daily list's thumbnails every hour: PDFs
from a real local HTTP server standing in for arXiv, rendered, and not fetched again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from papertide.catalog.models import PaperThumbnail
from papertide.worker import sources
from papertide.worker.scheduler import Worker
from tests.catalog.helpers import NOW, seed
from tests.ingest.pdfs import make_pdf, serve_pdfs
from tests.web.helpers import settings_for
from tests.worker.conftest import job_runs

RED, BLUE = (220, 30, 30), (30, 30, 220)


def test_the_worker_renders_thumbnails_hourly_when_asked(database, tmp_path, simulated):
    seed(database)
    for source in sources.listing(database):  # no harvests: this test is about thumbnails
        sources.remove(database, source.name)
    pdfs, asked = {"2508.00004": make_pdf(RED, BLUE), "2508.00005": make_pdf(BLUE)}, Counter()
    with serve_pdfs(pdfs, asked) as url:
        settings = settings_for(database, arxiv_pdf_url=url, arxiv_delay=0, thumbnails_dir=str(tmp_path / "t"))
        time = simulated(NOW)
        assert "thumbnails" not in {r.job for r in Worker(database, settings, time.clock).run_once()}

        worker = Worker(database, settings.with_changes(thumbnails=True), time.clock)
        [run] = [r for r in worker.run_once() if r.job == "thumbnails"]
        assert run.ok and run.outcome.added == 2, run.outcome.summary
        with database.session() as session:
            statuses = Counter(t.status for t in session.scalars(select(PaperThumbnail)))
        assert statuses["done"] == 2 and sum(asked.values()) == 6  # four papers arXiv does not have

        time.set(NOW + timedelta(minutes=30))
        assert "thumbnails" not in {r.job for r in worker.run_once()}  # hourly
        time.set(NOW + timedelta(minutes=61))
        [again] = [r for r in worker.run_once() if r.job == "thumbnails"]
        assert again.ok and again.outcome.added == 0 and sum(asked.values()) == 6  # nothing fetched twice
    assert [r.job for r in job_runs(database, "thumbnails")] == ["thumbnails", "thumbnails"]
