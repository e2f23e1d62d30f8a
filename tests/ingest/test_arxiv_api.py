"""The arXiv export API client against recorded real responses served over real HTTP."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.models import Paper
from papertide.ingest.arxiv_api import ArxivClient, ArxivError, fetch_paper
from papertide.ingest.base import Rejected
from papertide.ingest.http import PoliteFetcher, retry_after_seconds
from tests.ingest.conftest import ATOM, recorded, run_cli
from tests.ingest.replay import Reply

API = "/api/query"


def lookup_params(ids: str, max_results: int) -> dict[str, str]:
    return {"search_query": "", "id_list": ids, "start": "0", "max_results": str(max_results)}


def search_params(query: str, start: int, max_results: int) -> dict[str, str]:
    return {"search_query": query, "start": str(start), "max_results": str(max_results)}


def atom(name: str, status: int = 200) -> Reply:
    return Reply.file(recorded(f"arxiv_api/{name}.atom.xml"), ATOM, status)


class FakeTime:
    """A clock that only moves when the code under test sleeps: pacing is observable, tests never wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(replay, time: FakeTime | None = None, **fetcher) -> ArxivClient:
    time = time or FakeTime()
    return ArxivClient(replay.url + API, PoliteFetcher(clock=time.clock, sleep=time.sleep, **fetcher))


def test_lookup_of_one_id_gives_the_full_record(replay):
    replay.route(API, lookup_params("1707.08567", 1), atom("id_1707.08567_s0_m100_6a1afebfc6a3"))
    [record] = list(client_for(replay).lookup(["1707.08567"]))
    assert record.arxiv_id == "1707.08567" and record.version == 1
    assert record.title == "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
    assert len(record.authors) == 34 and record.authors[0] == "Kees A. Schouhamer Immink"
    assert record.primary_category == "cs.IT" and record.categories == ["cs.IT"]
    assert record.comment.startswith("44 pages, editors for the proceedings")
    assert record.published_at == datetime(2017, 7, 27, 8, 18, 33, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw, sent, recording, expected", [
    ("2104.12255v1", "2104.12255v1", "id_2104.12255v1_s0_m100_6ae69987ffe1", ("2104.12255", 1)),
    ("astro-ph/0601001", "astro-ph/0601001", "id_astro-ph_0601001_s0_m100_3150dca9dc76", ("astro-ph/0601001", 1)),
    ("arXiv:quant-ph/0201082v1", "quant-ph/0201082v1", "id_quant-ph_0201082v1_s0_m100_86989fe779ef", ("quant-ph/0201082", 1)),
])
def test_versioned_and_old_style_ids(replay, raw, sent, recording, expected):
    replay.route(API, lookup_params(sent, 1), atom(recording))
    [record] = list(client_for(replay).lookup([raw]))
    assert (record.arxiv_id, record.version) == expected


def test_unknown_ids_are_absent_and_fetch_paper_returns_none(replay):
    replay.route(API, lookup_params("0808.05394,1707.08567", 2), atom("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af"))
    replay.route(API, lookup_params("0808.05394", 1), atom("id_0808.05394_s0_m100_7b0c7d0a7cdd"))
    client = client_for(replay)
    assert [r.arxiv_id for r in client.lookup(["0808.05394", "1707.08567"])] == ["1707.08567"]
    assert client.fetch_paper("0808.05394") is None


def test_fetch_paper_for_the_submit_page(replay):
    replay.route(API, lookup_params("1605.08386", 1), atom("id_1605.08386_s0_m100_199195aa31ad"))
    record = fetch_paper("https://arxiv.org/abs/1605.08386", api_url=replay.url + API, fetcher=PoliteFetcher(delay=0))
    assert record.title == "Heat-bath random walks with Markov bases"
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        fetch_paper("abc", api_url=replay.url + API)
    assert replay.requests and all(r.params.get("id_list") != "abc" for r in replay.requests)


def test_ids_of_the_wrong_shape_are_rejected_without_asking_arxiv(replay):
    replay.route(API, lookup_params("1605.08386", 1), atom("id_1605.08386_s0_m100_199195aa31ad"))
    items = list(client_for(replay).lookup(["abc", "1605.08386"]))
    assert isinstance(items[0], Rejected) and "not an arXiv id: 'abc'" in items[0].reason
    assert items[1].arxiv_id == "1605.08386"
    assert [r.params["id_list"] for r in replay.requests] == ["1605.08386"]


def test_a_400_becomes_an_arxiv_error_with_arxivs_own_message(replay):
    replay.route(API, lookup_params("abc", 1), atom("id_abc_s0_m100_b79c8dcf6bc3", status=400))
    with pytest.raises(ArxivError, match="arXiv API error: incorrect id format for abc"):
        client_for(replay).page(search_query="", id_list="abc", start=0, max_results=1)
    assert len(replay.requests) == 1  # a 400 is not retried


def test_other_errors_are_clear_and_not_retried(replay):
    replay.route(API, lookup_params("1605.08386", 1), Reply(500, b"Internal Server Error"))
    with pytest.raises(ArxivError, match="HTTP 500"):
        list(client_for(replay).lookup(["1605.08386"]))
    assert len(replay.requests) == 1


def test_search_pages_until_max_results_with_the_politeness_delay(replay):
    for start, name in [(0, "q_testing_s0_m10_bc5a6c384fe9"), (10, "q_testing_s10_m10_34e56e15aaac"),
                        (20, "q_testing_s20_m10_348a237fecab")]:
        replay.route(API, search_params("testing", start, 10), atom(name))
    time = FakeTime()
    records = list(client_for(replay, time, delay=3.0).search("testing", max_results=30, page_size=10))
    assert len(records) == 30 and len({r.arxiv_id for r in records}) == 30
    assert [r.params["start"] for r in replay.requests] == ["0", "10", "20"]
    assert time.sleeps == [3.0, 3.0]  # between requests, never before the first


def test_503_with_retry_after_is_waited_out_then_the_recorded_page_is_used(replay):
    replay.route(API, lookup_params("1605.08386", 1),
                 Reply(503, b"Service Unavailable", {"Retry-After": "7"}), atom("id_1605.08386_s0_m100_199195aa31ad"))
    time = FakeTime()
    [record] = list(client_for(replay, time, delay=0).lookup(["1605.08386"]))
    assert record.arxiv_id == "1605.08386"
    assert time.sleeps == [7.0] and len(replay.requests) == 2


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(replay):
    replay.route(API, lookup_params("1605.08386", 1), Reply(429, b"Too Many Requests"))
    time = FakeTime()
    with pytest.raises(ArxivError, match=r"HTTP 429 .*gave up after 4 attempts"):
        list(client_for(replay, time, delay=0, retries=3, backoff=2.0).lookup(["1605.08386"]))
    assert time.sleeps == [2.0, 4.0, 8.0]


def test_retry_after_as_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("garbage") is None


def test_ids_are_looked_up_in_chunks(replay):
    replay.route(API, lookup_params("1707.08567", 1), atom("id_1707.08567_s0_m100_6a1afebfc6a3"))
    replay.route(API, lookup_params("1605.08386", 1), atom("id_1605.08386_s0_m100_199195aa31ad"))
    records = list(client_for(replay).lookup(["1707.08567", "1605.08386"], chunk=1))
    assert [r.arxiv_id for r in records] == ["1707.08567", "1605.08386"]


def test_harvest_arxiv_ids_command(replay, database):
    replay.route(API, lookup_params("1605.08386,astro-ph/0601001", 2), atom("id_1605.08386_s0_m100_199195aa31ad"))
    result = run_cli("harvest", "arxiv-ids", "--delay", "0", "--quiet", "1605.08386", "astro-ph/0601001", "not-an-id",
                     database_url=database.url, env={"PAPERTIDE_ARXIV_API_URL": replay.url + API})
    assert result.returncode == 0, result.stderr
    assert b"not an arXiv id: 'not-an-id'" in result.stderr
    assert result.stdout.strip().endswith(b"added 1 / updated 0 / unchanged 0 / rejected 1")
    with database.session() as session:
        assert session.scalars(select(Paper.arxiv_id)).all() == ["1605.08386"]


def test_harvest_arxiv_ids_reports_arxivs_error(replay, database):
    replay.route(API, lookup_params("1605.08386", 1), atom("id_abc_s0_m100_b79c8dcf6bc3", status=400))
    result = run_cli("harvest", "arxiv-ids", "--delay", "0", "--quiet", "1605.08386",
                     database_url=database.url, env={"PAPERTIDE_ARXIV_API_URL": replay.url + API})
    assert result.returncode == 1
    assert b"error: arXiv API error: incorrect id format for abc" in result.stderr
