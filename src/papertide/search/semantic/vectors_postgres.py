"""Semantic retrieval on PostgreSQL: pgvector answers in SQL, so web workers hold no vectors.

The ``vectors.VectorSearch`` protocol, over
``paper_embeddings.embedding``: a pgvector column that PostgreSQL generates from the float16
bytes the indexer stores (migration 0003). Vectors of ``HNSW_DIMENSIONS`` (the default model)
have an HNSW index (cosine); ``hnsw.iterative_scan`` keeps scanning until ``k`` vectors of the
asked model pass. Other sizes, and searches restricted to an ``allowed`` set of papers (date or
organisation filters), are exact scans, as on SQLite. Recall@10 of the HNSW path against exact,
and its latency beside SQLite's: ``benchmarks/search_backends.py``.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from papertide.db import Database
from papertide.search.semantic.vectors import from_blobs

HNSW_DIMENSIONS = 384  # must equal migration 0003's index
EF_SEARCH = 100  # HNSW candidate list: recall against latency (2k for larger k; search_backends.py measures it)


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form, bound as a parameter and cast in SQL."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"


class PostgresVectorIndex:
    """``vectors.VectorSearch`` asked of PostgreSQL: no vectors and no graph in this process."""

    filters_in_sql = True
    graph_files = None

    def __init__(self, database: Database, model_id: str, dim: int, count: int):
        self.database = database
        self.model_id = model_id
        self.dim = dim
        self._count = int(count)

    def __len__(self) -> int:
        return self._count

    @property
    def uses_ann(self) -> bool:
        return self.dim == HNSW_DIMENSIONS

    def vector(self, paper_id: int) -> np.ndarray | None:
        with self.database.engine.connect() as connection:
            blob = connection.execute(
                text("SELECT vector FROM paper_embeddings WHERE paper_id = :p AND model = :m"), {"p": paper_id, "m": self.model_id}
            ).scalar()
        return from_blobs([bytes(blob)], self.dim)[0].astype(np.float32) if blob is not None else None

    def scores(self, query: np.ndarray, paper_ids) -> dict[int, float]:
        """Cosine of ``query`` with each given paper that has a vector."""
        ids = [int(i) for i in paper_ids]
        if not ids:
            return {}
        with self.database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT paper_id, 1 - (embedding <=> CAST(:q AS vector)) FROM paper_embeddings "
                    "WHERE model = :m AND paper_id = ANY(:ids)"
                ),
                {"q": vector_literal(query), "m": self.model_id, "ids": ids},
            ).all()
        return {int(r[0]): float(r[1]) for r in rows}

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` papers most similar to ``query`` (restricted to ``allowed`` ids if given)."""
        if k <= 0 or not self._count or (allowed is not None and not allowed):
            return []
        params = {"q": vector_literal(query), "m": self.model_id, "k": int(k)}
        if allowed is not None:  # exact over the allowed papers: a filter never loses recall
            sql = (
                "SELECT paper_id, embedding <=> CAST(:q AS vector) AS distance FROM paper_embeddings "
                "WHERE model = :m AND paper_id = ANY(:ids) ORDER BY distance, paper_id LIMIT :k"
            )
            params["ids"] = sorted(int(i) for i in allowed)
        elif self.uses_ann:  # the expression and the predicate are those of the HNSW index
            sql = (
                f"SELECT paper_id, CAST(embedding AS vector({HNSW_DIMENSIONS})) <=> CAST(:q AS vector({HNSW_DIMENSIONS})) AS distance "
                f"FROM paper_embeddings WHERE vector_dims(embedding) = {HNSW_DIMENSIONS} AND model = :m "
                f"ORDER BY distance LIMIT :k"
            )
        else:
            sql = (
                "SELECT paper_id, embedding <=> CAST(:q AS vector) AS distance FROM paper_embeddings "
                "WHERE model = :m ORDER BY distance, paper_id LIMIT :k"
            )
        with self.database.engine.connect() as connection, connection.begin():
            if self.uses_ann and allowed is None:
                connection.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, 2 * int(k))}"))
                connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            rows = connection.execute(text(sql), params).all()
        hits = sorted(((int(r[0]), 1.0 - float(r[1])) for r in rows), key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]
