"""SearchService end to end on a real migrated database, with the test embedder."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pytest
from sqlalchemy import text

from papertide.search.semantic.embedder import HashEmbedder
from papertide.search.service import SearchService

from .helpers import HOSTILE_QUERIES, add_papers, service_with


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
    assert hits[0].published_at.tzinfo is not None


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_give_results_or_nothing_never_an_error(database, query):
    service = service_with(database)
    assert isinstance(service.search(query), list)


def test_blank_queries_return_nothing(database):
    service = service_with(database)
    assert service.search("") == [] and service.search("   ") == [] and service.search("?!") == []


@pytest.mark.parametrize("ann", [False, True], ids=["exact vectors", "hnsw vectors"])
def test_filters_hold_on_every_path(database, ann, monkeypatch):
    service = service_with(database)
    if ann:  # the graph answers, filtered by SQL on its (oversampled) answer
        import papertide.search.service as service_module

        monkeypatch.setattr(service_module, "CANDIDATES", 1)  # so that 6 papers are enough candidates
        service = SearchService(database, service.embedder, ann_threshold=2)
    assert {h.organization for h in service.search("models networks learning", organization="deepmind")} == {"deepmind"}
    hits = service.search("models learning networks", date_from=date(2024, 3, 1), date_to=date(2024, 5, 1))
    assert hits and all(date(2024, 3, 1) <= h.published_at.date() < date(2024, 5, 1) for h in hits)
    assert service.search("2401.00001", date_from=date(2025, 1, 1)) == []


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


def test_new_vectors_are_picked_up_by_a_running_service(database, monkeypatch):
    import papertide.search.service as service_module
    from papertide.search.semantic.indexer import index_papers

    monkeypatch.setattr(service_module, "REFRESH_SECONDS", 0.0)
    service = service_with(database)
    add_papers(database, [("2407.00007", "Quantum error correction codes", "Surface codes protect qubits.", ["Peter Shor"], "2024-07-01", None)])
    index_papers(database, service.embedder, progress=False)
    hits = service.search("qubits surface codes protection")
    assert hits[0].arxiv_id == "2407.00007" and hits[0].match == "hybrid"


def test_warm_loads_the_vectors_before_any_query(database):
    service = service_with(database)
    assert service._index is None
    service.warm()
    assert service._index is not None and len(service._index) == 6


@pytest.mark.sqlite_only  # pgvector answers from the live table: there is nothing to reload
def test_a_large_index_is_refreshed_in_the_background(database, monkeypatch):
    """Above INLINE_REFRESH_LIMIT a query never waits for the vector check or a reload."""
    import papertide.search.service as service_module
    from papertide.search.semantic.indexer import index_papers

    monkeypatch.setattr(service_module, "REFRESH_SECONDS", 0.0)
    monkeypatch.setattr(service_module, "INLINE_REFRESH_LIMIT", 1)
    service = service_with(database)
    service.search("warm up")
    service.refreshing.result()  # the check the warm-up itself started
    gate, check = threading.Event(), service._refresh_in_background
    service._refresh_in_background = lambda embedder: (gate.wait(), check(embedder))  # the check waits for us
    add_papers(database, [("2407.00007", "Quantum error correction codes", "Surface codes protect qubits.", ["Peter Shor"], "2024-07-01", None)])
    index_papers(database, service.embedder, progress=False)
    first = service.search("qubits surface codes protection")
    assert first[0].arxiv_id == "2407.00007" and first[0].match == "keyword"  # the old vectors, at once
    gate.set()
    service.refreshing.result()
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
    long_page = arxiv_ids(service.search("sparse attention memory", limit=40))
    assert len(long_page) == 40
    assert arxiv_ids(service.search("sparse attention memory", limit=3)) == long_page[:3]
