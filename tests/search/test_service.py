"""SearchService end to end on a real migrated database, with the test embedder."""

from __future__ import annotations

import json
from concurrent.futures import Executor, Future
from datetime import date

import numpy as np
import pytest
from sqlalchemy import text

from papertide.search import MAX_RESULTS, Filters, SearchOptions, SearchQuery, SearchService, SemanticOptions
from papertide.search.query import MAX_QUERY_CHARS
from papertide.search.semantic.embedder import HashEmbedder
from papertide.search.trace import capture, names

from .helpers import HOSTILE_QUERIES, add_papers, invoke_cli, service_with


def arxiv_ids(hits):
    return [h.arxiv_id for h in hits]


def test_arxiv_id_or_url_goes_straight_to_the_paper(database):
    service = service_with(database)
    for query in ("2403.00003", "arXiv:2403.00003v2", "https://arxiv.org/abs/2403.00003"):
        hits = service.search(query)
        assert arxiv_ids(hits) == ["2403.00003"] and hits[0].match == "arxiv_id"


def test_exact_title_comes_first_whatever_the_case(database):
    service = service_with(database)
    hits = service.search("graph neural networks for MOLECULES")
    assert hits[0].arxiv_id == "2405.00005" and hits[0].match == "title"
    assert arxiv_ids(hits).count("2405.00005") == 1


def test_hybrid_finds_by_words_and_reports_why(database):
    service = service_with(database)
    hits = service.search("robots grasp objects")
    assert hits[0].arxiv_id == "2403.00003"
    assert hits[0].match in {"hybrid", "keyword"}


def test_control_characters_in_a_query_are_cleaned_as_catalog_text_is(database):
    # PostgreSQL refuses NUL in a parameter: the query is cleaned where it enters search.
    query = SearchQuery("graph neural\x00 networks for\x1b MOLECULES\ufffe")
    assert query.text == "graph neural networks for MOLECULES"
    hits = service_with(database).search(query.text)
    assert hits[0].arxiv_id == "2405.00005" and hits[0].match == "title"


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_give_results_or_nothing_never_an_error(database, query):
    service = service_with(database)
    assert isinstance(service.search(query), list)


def test_blank_queries_return_nothing(database):
    service = service_with(database)
    assert service.search("") == [] and service.search("   ") == [] and service.search("?!") == []


@pytest.mark.parametrize("ann", [False, True], ids=["exact vectors", "hnsw vectors"])
def test_filters_hold_on_every_path(database, ann):
    # with the graph: 1 candidate a side, so that 6 papers are enough; the graph answers, filtered
    # by SQL on its (oversampled) answer
    options = SearchOptions(candidates=1, semantic=SemanticOptions(ann_threshold=2)) if ann else SearchOptions()
    service = service_with(database, options=options)
    deepmind = service.search(SearchQuery("models networks learning", filters=Filters(organization="deepmind")))
    assert deepmind and {organization_of(database, h) for h in deepmind} == {"deepmind"}
    spring = Filters(published_from=date(2024, 3, 1), published_before=date(2024, 5, 1))
    hits = service.search(SearchQuery("models learning networks", filters=spring))
    assert hits and all(date(2024, 3, 1) <= published_on(database, h) < date(2024, 5, 1) for h in hits)
    assert service.search(SearchQuery("2401.00001", filters=Filters(published_from=date(2025, 1, 1)))) == []


def organization_of(database, hit):
    with database.session() as session:
        return session.execute(text("SELECT o.slug FROM papers AS p LEFT JOIN organizations AS o ON o.id = p.organization_id "
                                    "WHERE p.id = :i"), {"i": hit.paper_id}).scalar()


def published_on(database, hit) -> date:
    with database.session() as session:
        value = session.execute(text("SELECT published_at FROM papers WHERE id = :i"), {"i": hit.paper_id}).scalar()
    return date.fromisoformat(str(value)[:10])


def test_an_unknown_arxiv_id_finds_nothing_rather_than_noise(database):
    assert service_with(database).search("2499.12345") == []


def test_hidden_papers_never_appear(database):
    service = service_with(database)
    with database.session() as session:
        session.execute(text("UPDATE papers SET hidden = TRUE WHERE arxiv_id = '2402.00002'"))
    assert "2402.00002" not in arxiv_ids(service.search("protein folding diffusion"))
    assert service.search("2402.00002") == []


class BrokenEmbedder(HashEmbedder):
    def embed_query(self, text):
        raise RuntimeError("model crashed")


def test_keyword_only_when_the_embedder_fails_at_query_time(database):
    add_papers(database)
    from papertide.search.semantic.indexer import index_papers

    index_papers(database, HashEmbedder(), progress=False)
    service = SearchService(database, BrokenEmbedder())
    hits = service.search("speech recognition noise")
    assert hits[0].arxiv_id == "2404.00004" and hits[0].match == "keyword"


def test_keyword_only_when_the_model_cannot_load(database):
    add_papers(database)
    service = SearchService(database, "no-such-model")
    assert service.search("speech noise")[0].arxiv_id == "2404.00004"
    assert "unknown embedder" in service.semantic_error


def test_similar_papers_exclude_the_paper_itself(database):
    service = service_with(database)
    similar = service.similar("2401.00001", k=3)
    assert len(similar) == 3 and "2401.00001" not in arxiv_ids(similar)
    assert all(h.match == "similar" for h in similar)
    scores = [h.score for h in similar]
    assert scores == sorted(scores, reverse=True)
    assert service.similar("2999.99999") == [] and service.similar("not an id") == []


def test_new_vectors_are_picked_up_by_a_running_service(database):
    from papertide.search.semantic.indexer import index_papers

    service = service_with(database, options=SearchOptions(semantic=SemanticOptions(refresh_seconds=0.0)))
    add_papers(database, [("2407.00007", "Quantum error correction codes", "Surface codes protect qubits.", ["Peter Shor"], "2024-07-01", None)])
    index_papers(database, service.semantic.embedder, progress=False)
    hits = service.search("qubits surface codes protection")
    assert hits[0].arxiv_id == "2407.00007" and hits[0].match == "hybrid"


def test_warm_loads_the_vectors_before_any_query(database):
    service = service_with(database)
    with capture() as warming:
        service.warm()
    with capture() as searching:
        service.search("sparse attention")
    assert "load vectors" in names(warming) and "load vectors" not in names(searching)
    assert "keyword" in names(searching) and "semantic" in names(searching)
    with database.session() as session:
        assert len(service.semantic.index(session)) == 6


class HeldExecutor(Executor):
    """Runs what is submitted to it only when released: a background check the test holds."""

    def __init__(self):
        self.held = []

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        self.held.append((future, fn, args, kwargs))
        return future

    def release(self):
        while self.held:
            future, fn, args, kwargs = self.held.pop(0)
            future.set_result(fn(*args, **kwargs))


@pytest.mark.sqlite_only  # pgvector answers from the live table: there is nothing to reload
def test_a_large_index_is_refreshed_in_the_background(database):
    """Above ``inline_refresh_limit`` a query never waits for the vector check or a reload."""
    from papertide.search.semantic.indexer import index_papers

    background = HeldExecutor()
    service = service_with(database, options=SearchOptions(semantic=SemanticOptions(
        refresh_seconds=0.0, inline_refresh_limit=1, refresh_executor=background)))
    service.search("warm up")
    background.release()  # the check the warm-up itself started
    add_papers(database, [("2407.00007", "Quantum error correction codes", "Surface codes protect qubits.", ["Peter Shor"], "2024-07-01", None)])
    index_papers(database, service.semantic.embedder, progress=False)
    first = service.search("qubits surface codes protection")
    assert first[0].arxiv_id == "2407.00007" and first[0].match == "keyword"  # the old vectors, at once
    assert background.held  # the check it started waits for us
    background.release()
    assert service.search("qubits surface codes protection")[0].match == "hybrid"


def test_ann_index_is_used_above_the_threshold_and_agrees_with_exact(database, tmp_path):
    from papertide.search.semantic.vectors import VectorIndex

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 2001)
    exact = VectorIndex(ids, vectors, ann_threshold=10**9)
    ann = VectorIndex(ids, vectors, ann_cache=tmp_path / "v.usearch", ann_threshold=1000)
    assert ann.uses_ann and not exact.uses_ann
    agree = []
    for q in vectors[:50]:
        a = {i for i, _ in ann.search(q, 10)}
        e = {i for i, _ in exact.search(q, 10)}
        agree.append(len(a & e) / 10)
    assert np.mean(agree) >= 0.95
    reloaded = VectorIndex(ids, vectors, ann_cache=tmp_path / "v.usearch", ann_threshold=1000)
    assert reloaded.search(vectors[0], 1)[0][0] == 1
    allowed = {5, 6, 7}
    assert {i for i, _ in ann.search(vectors[0], 10, allowed)} == allowed


def test_a_short_page_is_the_head_of_a_longer_one(database):
    """Search fuses only the hits a page shows: a page of 3 must be the first 3 of a page of 40,
    with more candidates than either (every paper here shares the query's words)."""
    papers = [(f"2407.{i:05d}", f"Attention study {i}", f"Sparse attention over long documents, variant {i} " + "memory " * (i % 7),
               ["Ada Lovelace"], f"2024-07-{1 + i % 28:02d}") for i in range(1, 61)]
    service = service_with(database, papers)
    long_page = arxiv_ids(service.search(SearchQuery("sparse attention memory", 40)))
    assert len(long_page) == 40
    assert arxiv_ids(service.search(SearchQuery("sparse attention memory", 3))) == long_page[:3]


def test_a_query_is_cut_and_bounded_once_where_it_enters_search():
    assert SearchQuery("  sparse attention  ").text == "sparse attention"
    assert len(SearchQuery("a" * 10_000).text) == MAX_QUERY_CHARS
    assert SearchQuery("x", limit=10**6).limit == MAX_RESULTS and SearchQuery("x", limit=0).limit == 1
    assert SearchQuery("?!").empty and not SearchQuery("a").empty
    assert SearchQuery("arXiv:2403.00003v2").arxiv_id == "2403.00003" and SearchQuery("robots").arxiv_id is None


def test_the_edges_inclusive_last_day_is_the_day_before_search_stops():
    filters = Filters.for_days(date(2024, 3, 1), date(2024, 4, 30), "")
    assert filters == Filters(date(2024, 3, 1), date(2024, 5, 1), None)
    assert not Filters.for_days().active and Filters.for_days(organization="acme").active


def test_papertide_search_shows_hits_and_keeps_its_last_day(database, monkeypatch):
    """``--to`` is the last day kept (the paper of 2024-04-20 is in), and ``--json`` gives each
    hit's row, read once after the search."""
    service_with(database)
    result = invoke_cli(database, monkeypatch, ["search", "robots grasp objects", "--json", "-n", "3"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert first["arxiv_id"] == "2403.00003" and first["title"] == "Reinforcement learning for robot grasping"
    assert first["published_at"].startswith("2024-03-15") and first["authors"] == ["Alan Turing"]
    dated = invoke_cli(database, monkeypatch, ["search", "models learning", "--from", "2024-03-15", "--to", "2024-04-20", "--json"])
    days = {json.loads(line)["published_at"][:10] for line in dated.stdout.splitlines()}
    assert days == {"2024-03-15", "2024-04-20"}
    plain = invoke_cli(database, monkeypatch, ["search", "robots grasp objects", "-n", "1"])
    assert "2403.00003" in plain.output and "Reinforcement learning for robot grasping" in plain.output
