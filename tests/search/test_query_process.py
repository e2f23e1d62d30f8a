"""The query embedding process: the real model in a real spawned child, killed and stopped for real.

Each test that harms its child owns a ``QueryProcess`` of its own (a second to spawn: onnxruntime
and the model load in the child); the others share one per module.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from papertide.search.semantic import query_process
from papertide.search.semantic.embedder import EmbedderUnavailable
from papertide.search.semantic.registry import load_embedder
from papertide.search.semantic.indexer import index_papers
from papertide.search.semantic.query_process import QueryProcess, QueryProcessError
from papertide.search import SearchOptions, SearchQuery, SearchService, SemanticOptions

from .helpers import add_papers

REPO = Path(__file__).resolve().parents[2]

MEANING_ONLY = "machines picking up items with their hands"  # no word of it is in the grasping paper
GRASPING = "2403.00003"
TEXTS = ["sparse attention for long documents", "protein structure prediction", "robots grasping objects",
         "speech in noisy rooms", "message passing on molecular graphs", "retrieval before answering"]


@pytest.fixture(scope="module")
def inline_model():
    return load_embedder("default", threads=1)


@pytest.fixture(scope="module")
def shared_process():
    process = QueryProcess()
    yield process
    process.close()


@pytest.fixture
def own_process():
    process = QueryProcess(query_timeout=1.0, restart_backoff=(0.0, 0.0))  # a failed child is replaced at once
    process.start()
    assert process.pid is not None
    yield process
    process.close()


@pytest.fixture
def indexed(database, inline_model):
    add_papers(database)
    index_papers(database, inline_model, progress=False)
    return database


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody reaped yet has exited too)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition, seconds: float = 60.0, what: str = "condition"):
    """Poll ``condition`` until it is truthy, failing after ``seconds``: a deadline, not a sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value is not None and value is not False:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds:.0f} s")


def test_the_child_answers_what_the_model_in_this_process_answers(shared_process, inline_model):
    assert shared_process.model_id == inline_model.model_id and shared_process.dim == inline_model.dim
    for text in TEXTS:
        assert float(np.dot(shared_process.embed_query(text), inline_model.embed_query(text))) > 0.9999
    assert shared_process.pid != os.getpid()


def test_many_threads_each_get_the_vector_of_their_own_query(shared_process, inline_model):
    expected = {text: inline_model.embed_query(text) for text in TEXTS}
    jobs = [TEXTS[i % len(TEXTS)] for i in range(120)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        vectors = list(pool.map(shared_process.embed_query, jobs))
    for text, vector in zip(jobs, vectors):
        assert float(np.dot(vector, expected[text])) > 0.9999, text


def test_search_embeds_the_query_in_the_child(indexed, shared_process):
    service = SearchService(indexed, shared_process)
    hits = service.search(SearchQuery(MEANING_ONLY, 3))
    assert hits[0].arxiv_id == GRASPING and hits[0].match == "semantic"
    assert service.semantic_error is None


def test_the_child_searches_the_graph_generation_the_parent_serves(shared_process, tmp_path):
    """With a ``GraphQuery`` the child answers the query's nearest papers from the graph files
    too: the same as this process's search of that generation; a generation that is not the
    one on disk gives no hits (the parent searches itself), and still the vector."""
    from papertide.search.semantic.query_process import GraphQuery
    from papertide.search.semantic.vectors import VectorIndex

    with np.load(REPO / "data" / "demo" / "papers.embeddings.npz") as data:
        vectors = data["vectors"][:3000]
    index = VectorIndex(np.arange(1, 3001), vectors, ann_cache=tmp_path / "v.usearch", ann_threshold=1000)
    cache, generation = index.graph_files
    assert index.uses_ann and generation == 1
    for text in TEXTS:
        pending = shared_process.submit(text, GraphQuery(cache, generation, 20))
        vector = pending.result()
        hits = pending.graph_hits()
        assert hits is not None
        assert [pid for pid, _ in hits] == [pid for pid, _ in index.search(vector, 20)]
    elsewhere = shared_process.submit(TEXTS[0], GraphQuery(cache, generation + 1, 20))
    assert elsewhere.result() is not None and elsewhere.graph_hits() is None
    assert shared_process.submit(TEXTS[0]).graph_hits() is None  # (none asked for)


def test_graph_hits_nobody_asks_for_are_not_kept_for_ever(shared_process, tmp_path, monkeypatch):
    """A caller that takes the vector and never asks for the hits (the service, when it gave up on
    them) leaves them in the pipe; the parent reads them on the way to later answers and must drop
    them once far behind, not hold every one for the life of the worker."""
    from papertide.search.semantic.query_process import GraphQuery
    from papertide.search.semantic.vectors import VectorIndex

    monkeypatch.setattr(query_process, "FORGOTTEN_PARTS", 16)
    with np.load(REPO / "data" / "demo" / "papers.embeddings.npz") as data:
        vectors = data["vectors"][:2000]
    index = VectorIndex(np.arange(1, 2001), vectors, ann_cache=tmp_path / "v.usearch", ann_threshold=1000)
    cache, generation = index.graph_files
    for i in range(80):
        assert shared_process.submit(f"{TEXTS[i % len(TEXTS)]} {i}", GraphQuery(cache, generation, 20)).result() is not None
    kept = shared_process._child._answers
    assert 0 < len(kept) <= 16 + 1  # (what was read since the last drop)
    last = shared_process.submit(TEXTS[0], GraphQuery(cache, generation, 20))
    vector = last.result()
    assert [pid for pid, _ in last.graph_hits()] == [pid for pid, _ in index.search(vector, 20)]


def test_the_vector_comes_before_the_graph_search_so_a_hung_search_costs_the_hits_only(own_process, tmp_path):
    """The child sends the vector, then searches: here the graph's manifest is a FIFO nobody
    writes, so the search blocks for ever. The caller has its vector at once, gets no hits at the
    query's deadline (and searches itself), and the hung child is replaced."""
    from papertide.search.semantic.query_process import GraphQuery

    cache = tmp_path / "v.usearch"
    os.mkfifo(cache.with_name(cache.name + ".json"))
    hung = own_process.pid
    pending = own_process.submit("sparse attention", GraphQuery(str(cache), 1, 20))
    assert pending.result().shape == (own_process.dim,)
    assert pending.graph_hits() is None
    assert time.monotonic() < pending.deadline + 1.0
    wait_for(lambda: gone(hung), what="the hung child killed")
    vector = wait_for(lambda: _vector_or_none(own_process, "sparse attention"), what="a restarted child")
    assert vector.shape == (own_process.dim,) and own_process.pid != hung


@pytest.mark.sqlite_only  # (PostgreSQL: pgvector answers, nothing to search in the child)
def test_search_takes_the_graph_answer_from_the_child_and_does_not_search_again(indexed, shared_process, monkeypatch):
    from papertide.search.semantic.vectors import VectorIndex

    graph_from_4 = SearchOptions(semantic=SemanticOptions(ann_threshold=4))
    inline = SearchService(indexed, load_embedder("default", threads=1), graph_from_4)
    expected = [(h.arxiv_id, h.match) for h in inline.search(SearchQuery(MEANING_ONLY, 5))]
    service = SearchService(indexed, shared_process, graph_from_4)
    service.search(SearchQuery("warm up", 1))  # (builds the graph beside the test database)
    searched_here = []
    original = VectorIndex.search
    monkeypatch.setattr(VectorIndex, "search", lambda self, *a, **k: searched_here.append(a) or original(self, *a, **k))
    hits = service.search(SearchQuery(MEANING_ONLY, 5))
    assert searched_here == []  # the child searched the graph
    assert [(h.arxiv_id, h.match) for h in hits] == expected
    assert hits[0].arxiv_id == GRASPING and hits[0].match == "semantic"


def test_a_child_killed_between_queries_means_keyword_only_then_a_new_child(indexed, own_process):
    service = SearchService(indexed, own_process)
    assert service.search(SearchQuery(MEANING_ONLY, 3))[0].match == "semantic"
    first = own_process.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: gone(first), what="exit of the killed child")

    started = time.monotonic()
    hits = service.search(SearchQuery("reinforcement learning robots", 3))
    assert hits[0].arxiv_id == GRASPING and hits[0].match == "keyword"  # answered, without meaning
    assert time.monotonic() - started < own_process.query_timeout  # at once, not after a timeout

    wait_for(lambda: searches_by_meaning(service), what="search by meaning through a restarted child")
    assert own_process.pid not in (None, first)
    assert service.semantic_error is None


def test_a_child_killed_during_a_query_fails_that_query_only(own_process):
    first = own_process.pid
    os.kill(first, signal.SIGSTOP)  # it cannot answer before it dies
    pending = own_process.submit("sparse attention")
    os.kill(first, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(QueryProcessError, match="exited during a query"):
        pending.result()
    assert time.monotonic() - started < own_process.query_timeout  # end-of-file, not the deadline
    vector = wait_for(lambda: _vector_or_none(own_process, "sparse attention"), what="a restarted child")
    assert vector.shape == (own_process.dim,) and own_process.pid != first


def test_a_hung_child_is_given_up_after_the_timeout_and_replaced(indexed, own_process):
    service = SearchService(indexed, own_process)
    hung = own_process.pid
    os.kill(hung, signal.SIGSTOP)
    started = time.monotonic()
    hits = service.search(SearchQuery("reinforcement learning robots", 3))
    waited = time.monotonic() - started
    assert hits[0].arxiv_id == GRASPING and hits[0].match == "keyword"
    assert own_process.query_timeout <= waited < own_process.query_timeout + 5
    wait_for(lambda: gone(hung), what="the hung child killed")
    wait_for(lambda: searches_by_meaning(service), what="search by meaning through a new child")


def test_an_answer_that_came_in_time_is_taken_however_late_the_caller_comes_for_it(shared_process):
    pending = shared_process.submit("sparse attention")
    child = shared_process.pid
    wait_for(lambda: pending.child.connection.poll(0), what="the answer in the pipe")
    wait_for(lambda: time.monotonic() > pending.deadline + 0.05, seconds=shared_process.query_timeout + 5, what="the deadline past")
    assert pending.result().shape == (shared_process.dim,)
    assert shared_process.pid == child  # not taken for a hung child


def test_restarts_are_rate_limited_while_children_keep_failing(monkeypatch):
    attempts = []

    def failing_spawn(name, precision, timeout):
        attempts.append(time.monotonic())
        raise QueryProcessError("crashed while loading")

    monkeypatch.setattr(query_process._Child, "spawn", staticmethod(failing_spawn))
    process = QueryProcess(restart_backoff=(2.0, 60.0))
    for _ in range(200):
        with pytest.raises(QueryProcessError):
            process.embed_query("anything")
    assert len(attempts) == 1 and process.failures == 1  # the first start failed: the next waits 2 s
    assert process.restart_in > 0
    wait_for(lambda: _tried(process, attempts, 2) and process.failures == 2, what="a second attempt, failed")
    assert attempts[1] - attempts[0] >= 2.0
    assert process.restart_in > 2.0  # twice as long now


def test_a_model_that_cannot_load_turns_semantic_search_off(indexed):
    service = SearchService(indexed, QueryProcess(query_precision="int3"))
    hits = service.search(SearchQuery("reinforcement learning robots", 3))
    assert hits[0].arxiv_id == GRASPING and hits[0].match == "keyword"
    assert "unknown query precision 'int3'" in service.semantic_error
    assert service.semantic.embedder is None  # not retried on every query


def test_the_setting_chooses_process_or_inline(monkeypatch):
    from papertide.config import ConfigError, get_settings

    for mode, kind in (("inline", "MiniLM"), ("process", "QueryProcess")):
        monkeypatch.setenv("PAPERTIDE_QUERY_EMBEDDER", mode)
        get_settings.cache_clear()
        try:
            assert type(query_process.query_embedder("default")).__name__ == kind
            assert type(query_process.query_embedder("hash")).__name__ == "HashEmbedder"  # always inline
        finally:
            get_settings.cache_clear()
    monkeypatch.setenv("PAPERTIDE_QUERY_EMBEDDER", "gpu")
    get_settings.cache_clear()
    try:  # an unknown mode is refused with the settings, before any search runs
        with pytest.raises(ConfigError, match="PAPERTIDE_QUERY_EMBEDDER='gpu'"):
            query_process.query_embedder("default")
    finally:
        get_settings.cache_clear()


def searches_by_meaning(service: SearchService) -> bool:
    hits = service.search(SearchQuery(MEANING_ONLY, 3))
    return bool(hits) and hits[0].arxiv_id == GRASPING and hits[0].match == "semantic"


def _vector_or_none(process: QueryProcess, text: str):
    try:
        return process.embed_query(text)
    except QueryProcessError:
        return None


def _tried(process: QueryProcess, attempts: list, count: int) -> bool:
    try:
        process.embed_query("anything")
    except QueryProcessError:
        pass
    return len(attempts) >= count
