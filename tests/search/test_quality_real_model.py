"""Quality on real data with the real model: the shipped demo vectors, real queries.

600 demo papers (with summaries) are ingested through the real JSONL source, their shipped vectors imported
(nothing is computed), and each paper's Hugging Face one-line summary is used as a query, as a
person who remembers what a paper did would type it. Hybrid must find the paper at least as
well as keywords alone, and well in absolute terms.
"""

from __future__ import annotations

import pytest

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.ingest.detect import open_source
from papertide.search.semantic.indexer import import_vectors
from papertide.search.semantic.minilm import MODEL_ID
from papertide.search import SearchQuery, SearchService

from ..conftest import DEMO_CORPUS

DEMO_VECTORS = DEMO_CORPUS.with_name("papers.embeddings.npz")


def demo_records(n: int) -> list[PaperRecord]:
    """The newest ``n`` demo papers that have a summary (older ones were captured without)."""
    records = [r for r in open_source(str(DEMO_CORPUS)) if isinstance(r, PaperRecord) and r.ai_summary]
    return records[-n:]


def mrr(service: SearchService, queries: list[tuple[str, str]]) -> float:
    total = 0.0
    for text, target in queries:
        ranked = [hit.arxiv_id for hit in service.search(SearchQuery(text, 10))]
        total += 1.0 / (ranked.index(target) + 1) if target in ranked else 0.0
    return total / len(queries)


@pytest.mark.slow
def test_hybrid_finds_papers_from_their_summaries(database):
    records = demo_records(600)
    with database.session() as session:
        upsert_papers(session, records)
    assert import_vectors(database, MODEL_ID, DEMO_VECTORS).imported == len(records)
    queries = [(r.ai_summary, r.arxiv_id) for r in records[::10]]

    hybrid = SearchService(database)
    keyword_only = SearchService(database, embedder=None)
    hybrid_mrr, keyword_mrr = mrr(hybrid, queries), mrr(keyword_only, queries)
    assert hybrid.semantic_error is None
    assert hybrid_mrr >= keyword_mrr
    assert hybrid_mrr >= 0.85


@pytest.mark.slow
def test_similar_papers_share_the_topic(database):
    records = demo_records(600)
    with database.session() as session:
        upsert_papers(session, records)
    import_vectors(database, MODEL_ID, DEMO_VECTORS)
    service = SearchService(database)
    seed = next(r for r in records if "diffusion" in r.title.lower())
    similar = service.similar(seed.arxiv_id, k=5)
    assert len(similar) == 5
    titles = {r.arxiv_id: r.title for r in records}
    text = " ".join(titles[h.arxiv_id] for h in similar).lower()
    assert "diffusion" in text or "generat" in text
