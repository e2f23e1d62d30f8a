"""Indexing: resumable, re-embeds changed papers only, precomputed vectors verified on import."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from papertide.catalog.upsert import upsert_papers
from papertide.search.semantic.embedder import HashEmbedder
from papertide.search.semantic.indexer import VectorFileError, count_stale, export_vectors, import_vectors, index_papers

from .helpers import PAPERS, add_papers, record


class CountingEmbedder(HashEmbedder):
    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts):
        self.seen.extend(texts)
        return super().embed_documents(texts)


def stored(database):
    with database.session() as session:
        return session.execute(text("SELECT count(*) FROM paper_embeddings")).scalar()


def test_indexing_resumes_where_it_stopped_and_then_has_nothing_to_do(database):
    add_papers(database)
    embedder = CountingEmbedder()
    assert index_papers(database, embedder, progress=False, limit=4).embedded == 4
    assert stored(database) == 4
    second = index_papers(database, embedder, progress=False)
    assert (second.embedded, second.up_to_date) == (2, 4)
    assert len(embedder.seen) == len(PAPERS)  # nobody embedded twice
    assert index_papers(database, embedder, progress=False).embedded == 0


def test_a_changed_abstract_is_embedded_again(database):
    add_papers(database)
    embedder = CountingEmbedder()
    index_papers(database, embedder, progress=False)
    with database.session() as session:
        upsert_papers(session, [record("2404.00004", "Speech recognition in noisy rooms", "A new abstract about microphones.", ["C. Shannon"], "2024-04-20", version=3)])
    assert count_stale(database, embedder.model_id) == (1, len(PAPERS))
    index_papers(database, embedder, progress=False)
    assert "microphones" in embedder.seen[-1]


def test_vectors_round_trip_through_a_file_and_stale_ones_are_skipped(database, tmp_path, make_database):
    add_papers(database)
    embedder = HashEmbedder()
    index_papers(database, embedder, progress=False)
    path = tmp_path / "vectors.npz"
    assert export_vectors(database, embedder.model_id, path) == len(PAPERS)

    other = make_database()
    changed = [p if p[0] != "2401.00001" else (p[0], p[1], "A different abstract.", *p[3:]) for p in PAPERS]
    add_papers(other, changed)
    summary = import_vectors(other, embedder.model_id, path)
    assert summary.imported == len(PAPERS) - 1  # the changed paper's vector is stale
    assert count_stale(other, embedder.model_id) == (1, len(PAPERS))


def test_a_damaged_or_foreign_vector_file_is_refused(database, tmp_path):
    add_papers(database)
    embedder = HashEmbedder()
    index_papers(database, embedder, progress=False)
    path = tmp_path / "vectors.npz"
    export_vectors(database, embedder.model_id, path)
    with pytest.raises(VectorFileError, match="not other-model"):
        import_vectors(database, "other-model", path)
    data = dict(np.load(path))
    data["vectors"] = data["vectors"] + np.float16(0.01)
    np.savez(tmp_path / "damaged.npz", **data)
    with pytest.raises(VectorFileError, match="checksum"):
        import_vectors(database, embedder.model_id, tmp_path / "damaged.npz")
