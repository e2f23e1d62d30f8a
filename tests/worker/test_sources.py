"""Each kind of source harvested by the worker from replayed upstreams, with its checkpoint, its
failures (recorded, retried with backoff, never stopping the other jobs) and its status."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from papertide.catalog.checkpoints import load_checkpoint
from papertide.catalog.models import DailyEntry, Paper
from papertide.ingest.arxiv_api import ArxivAtomFileSource
from papertide.ingest.oai_pmh import OaiFileSource
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker import sources
from papertide.worker.scheduler import Worker
from papertide.worker.status import catalog_updated_at, source_statuses
from tests.ingest.conftest import ATOM, recorded
from tests.ingest.replay import Reply
from tests.worker.conftest import FIRST_PAGE, OAI, first_params, job_runs, oai_page, route_hf, route_oai_chain, settings_for

UTC = timezone.utc
MORNING = datetime(2026, 8, 20, 9, 0, tzinfo=UTC)


def count(database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def only(database, *names: str) -> None:
    """Keep just these sources (a new installation has hf-daily)."""
    for source in sources.listing(database):
        if source.name not in names:
            sources.remove(database, source.name)


def test_hf_daily_puts_today_and_yesterday_on_the_list_embedded(database, replay, simulated):
    route_hf(replay, {date(2026, 8, 19): "2026-08-19", date(2026, 8, 20): "2026-08-20"})
    time = simulated(MORNING)
    worker = Worker(database, settings_for(database, replay), time.clock)
    results = worker.run_once()
    assert [(r.job, r.ok) for r in results] == [("source:hf-daily", True), ("search-index", True)]
    assert results[0].outcome.added == 25 + 14 and results[0].slot == MORNING
    with database.session() as session:
        days = Counter(session.scalars(select(DailyEntry.daily_date)))
        assert catalog_updated_at(session) == MORNING
    assert days == {date(2026, 8, 19): 25, date(2026, 8, 20): 14}
    assert count(database, PaperEmbedding) == count(database, Paper) == 39

    time.set(MORNING + timedelta(minutes=30))  # the next slot: nothing new, nothing to index
    again = worker.run_once()
    assert [(r.job, r.outcome.added, r.outcome.updated) for r in again] == [("source:hf-daily", 0, 0)]
    assert worker.run_once() == []  # each slot once
    status = source_statuses(database, time.now)[0]
    assert (status.name, status.last_status, status.papers_added, status.last_added) == ("hf-daily", "ok", 39, 0)
    assert status.next_run_at == MORNING + timedelta(hours=1)


def test_an_arxiv_category_backfills_keeps_its_category_and_goes_on_from_where_it_stopped(database, replay, simulated):
    only(database)
    sources.add(database, sources.arxiv_category("math", backfill_days=2))
    route_oai_chain(replay, date(2026, 8, 18), "math")
    time = simulated(MORNING)
    worker = Worker(database, settings_for(database, replay), time.clock)
    [harvest, index] = worker.run_once()
    assert harvest.ok and index.ok, (harvest.line(), index.line())

    pages = [FIRST_PAGE, "arxiv_oai/mikesaelim_ListRecordsResponse.xml", "constructed/oai_last_page_arXivRaw.xml"]
    records = [r for page in pages for r in OaiFileSource(recorded(page))]
    expected = {r.arxiv_id for r in records if any(c.split(".")[0] == "math" for c in r.categories)}
    with database.session() as session:
        stored = set(session.scalars(select(Paper.arxiv_id)))
        assert load_checkpoint(session, "source:arxiv-math") == {"next_from": "2026-08-20"}
    assert stored == expected and len(expected) > 50  # only math, of the 394 records of every archive

    # The next evening's run asks from the day the last one started: arXiv has nothing new for math.
    replay.route(OAI, first_params(date(2026, 8, 20), "math"), oai_page("arxiv_oai/mikesaelim_ErrorResponseNoRecordsMatch.xml"))
    time.set(datetime(2026, 8, 21, 3, 0, tzinfo=UTC))  # 23:00 in New York
    [quiet] = worker.run_once()
    assert quiet.ok and quiet.outcome.added == 0
    assert [r.params.get("from") for r in replay.requests if "from" in r.params] == ["2026-08-18", "2026-08-20"]


def test_an_arxiv_category_through_the_api_listing(database, replay, simulated):
    only(database)
    sources.add(database, sources.arxiv_category("cs.SE", via="api", backfill_days=1))
    query = "cat:cs.SE AND submittedDate:[202608190000 TO 202608210000]"
    replay.route("/api/query", {"search_query": query, "start": "0", "max_results": "100"},
                 Reply.file(recorded("arxiv_api/q_testing_s0_m100_cfe7536492ca.atom.xml"), ATOM))
    replay.route("/api/query", {"search_query": query, "start": "100", "max_results": "100"},
                 Reply.file(recorded("arxiv_api/id_0000.0000_s0_m100_8b51d9633a68.atom.xml"), ATOM))  # no more entries
    worker = Worker(database, settings_for(database, replay), simulated(MORNING).clock)
    [harvest, _] = worker.run_once()
    listed = [r for r in ArxivAtomFileSource(recorded("arxiv_api/q_testing_s0_m100_cfe7536492ca.atom.xml"))]
    assert harvest.ok and harvest.outcome.added == sum("cs.SE" in r.categories for r in listed) > 0


def test_a_list_of_arxiv_ids(database, replay, simulated):
    only(database)
    sources.add(database, sources.arxiv_ids("reading-group", ["1605.08386v1"]))
    replay.route("/api/query", {"search_query": "", "id_list": "1605.08386v1", "start": "0", "max_results": "1"},
                 Reply.file(recorded("arxiv_api/id_1605.08386_s0_m100_199195aa31ad.atom.xml"), ATOM))
    worker = Worker(database, settings_for(database, replay), simulated(MORNING).clock)
    [harvest, _] = worker.run_once()
    assert harvest.ok and harvest.outcome.added == 1
    with database.session() as session:
        assert session.scalars(select(Paper.arxiv_id)).all() == ["1605.08386"]


def test_a_failing_source_is_recorded_retried_with_backoff_and_stops_nothing_else(database, replay, simulated):
    sources.add(database, sources.arxiv_ids("reading-group", ["1605.08386v1"]))
    replay.route("/api/query", {"search_query": "", "id_list": "1605.08386v1", "start": "0", "max_results": "1"},
                 Reply.file(recorded("arxiv_api/id_1605.08386_s0_m100_199195aa31ad.atom.xml"), ATOM))
    time = simulated(MORNING)  # Hugging Face is not routed yet: 404
    worker = Worker(database, settings_for(database, replay), time.clock)
    first = {r.job: r for r in worker.run_once()}
    assert not first["source:hf-daily"].ok and "HTTP 404" in first["source:hf-daily"].error
    assert first["source:reading-group"].ok and first["search-index"].ok  # the others went on
    [status] = [s for s in source_statuses(database, time.now) if s.name == "hf-daily"]
    assert (status.last_status, status.last_error_at, status.next_run_at) == ("failed", MORNING, MORNING + timedelta(minutes=1))
    assert "daily_papers" in status.last_error

    time.set(MORNING + timedelta(minutes=1))
    assert [(r.job, r.ok) for r in worker.run_once()] == [("source:hf-daily", False)]
    [status] = [s for s in source_statuses(database, time.now) if s.name == "hf-daily"]
    assert status.next_run_at == MORNING + timedelta(minutes=3)  # backing off: 1, 2, 4 ... minutes

    route_hf(replay, {date(2026, 8, 19): "2026-08-19", date(2026, 8, 20): "2026-08-20"})
    time.set(MORNING + timedelta(minutes=3))
    assert [(r.job, r.ok) for r in worker.run_once()] == [("source:hf-daily", True), ("search-index", True)]
    [status] = [s for s in source_statuses(database, time.now) if s.name == "hf-daily"]
    assert status.last_status == "ok" and status.next_run_at == MORNING + timedelta(minutes=30)
    assert status.last_error_at == MORNING + timedelta(minutes=1)  # the last error stays visible, with its time
    assert [r.status for r in job_runs(database, "source:hf-daily")] == ["failed", "failed", "ok"]


def test_bad_sources_are_refused_with_a_reason(database):
    with pytest.raises(sources.SourceConfigError, match="not an arXiv category"):
        sources.arxiv_category("Computer Science")
    with pytest.raises(sources.SourceConfigError, match="not an arXiv id"):
        sources.arxiv_ids("mine", ["2405.15738", "nope"])
    with pytest.raises(sources.SourceConfigError, match="already a source named 'hf-daily'"):
        sources.add(database, sources.hf_daily())
    with pytest.raises(sources.SourceConfigError, match="IANA"):
        sources.add(database, sources.arxiv_category("cs.CL", timezone="Mars/Olympus"))
    assert sources.arxiv_category("hep-th").params["set"] == "physics:hep-th"
    assert sources.arxiv_category("cs.CL").params["set"] == "cs"
    assert [s.name for s in sources.listing(database)] == ["hf-daily"]
