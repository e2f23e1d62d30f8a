"""The vectors of one model, searched: the ``VectorSearch`` protocol, and SQLite's ``VectorIndex``.

``VectorSearch`` is what the semantic side asks of an index, whichever backend answers:
``VectorIndex`` here (vectors read from SQLite, searched in this process) or
``vectors_postgres.PostgresVectorIndex`` (pgvector answers in SQL).

Exact search (one matrix product) is used while it is fast: under ``ANN_THRESHOLD`` vectors it
takes a few milliseconds. Above it an HNSW graph (usearch) answers instead, with recall@10
against exact measured by ``benchmarks/search_latency.py``. The graph is kept next to the SQLite
file and updated incrementally, by one process at a time (``ann.py``).

Vectors are stored in the database as float16 (half the size; cosine error ~1e-4). In memory,
exact search keeps a float32 copy (BLAS needs it; 150 MB at 100k); above the threshold the
float16 rows are memory-mapped from the graph's files, shared by every process, for rescoring a
few hundred candidates. Above the threshold the vectors are not read from the database at all
unless the graph lacks them: ids and text hashes say whether it is up to date (``ann.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session
from threadpoolctl import ThreadpoolController

from papertide.search.semantic.ann import STAMP, GraphUpdate, VectorsChanged, VectorsOf, open_graph, rows_reader, vector_stamps

ANN_THRESHOLD = 100_000
EXACT_BLOCK = 65_536  # rows converted to float32 at a time: bounded extra memory
LOAD_BLOCK = 20_000  # rows read from the database at a time
LOAD_ATTEMPTS = 3  # reads of ids and vectors that papers deleted in between may spoil
FILTER_OVERSAMPLE = 20  # filtered ANN search asks for this many times k, then filters
# One BLAS thread per query product: a matrix-vector product gains nothing from a second one, and
# the other core is embedding the next query (research log, "Exact vector search").
_BLAS = ThreadpoolController()


class VectorSearch(Protocol):
    """Nearest papers by cosine similarity, for one embedding model."""

    @property
    def uses_ann(self) -> bool:
        """An approximate (HNSW) search answers ``search`` without ``allowed``."""

    @property
    def filters_in_sql(self) -> bool:
        """``search`` with ``allowed`` is exact in the database: no graph answer to filter."""

    @property
    def graph_files(self) -> tuple[str, int] | None:
        """(cache, generation) of the graph on disk this index serves: another process may search it."""

    def __len__(self) -> int: ...

    def vector(self, paper_id: int) -> np.ndarray | None:
        """The stored vector of ``paper_id`` (float32), or None."""

    def scores(self, query: np.ndarray, paper_ids) -> dict[int, float]:
        """Exact cosine of ``query`` with each given paper that has a vector."""

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` papers most similar to ``query`` (restricted to ``allowed`` ids if given), best first."""


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_blobs(blobs: list[bytes], dim: int) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim) if blobs else np.zeros((0, dim), np.float16)


class VectorIndex:
    """``VectorSearch`` over vectors read from SQLite: exact below ``ann_threshold``, else the HNSW graph."""

    filters_in_sql = False

    def __init__(
        self, ids: np.ndarray, vectors: np.ndarray, ann_cache: Path | None = None, ann_threshold: int = ANN_THRESHOLD,
        *, stamps: np.ndarray | None = None, wait: bool = True, progress=None,
    ):
        """Above ``ann_threshold`` vectors the graph cached at ``ann_cache`` is opened and brought
        up to date (``ann.open_graph``: ``wait`` and ``progress`` are its; ``stamps``, the text
        hash of each vector, default to a hash of the vector), and the ids and rows served are
        the graph's: those of the previous generation while another process updates it
        (``self.update.stale``)."""
        ids, vectors = np.asarray(ids, dtype=np.int64), np.asarray(vectors, dtype=np.float16)
        if np.any(ids[1:] <= ids[:-1]):  # sort only when needed: a copy is 768 MB at 1M
            order = np.argsort(ids, kind="stable")
            ids, vectors = ids[order], vectors[order]
            stamps = None if stamps is None else np.asarray(stamps)[order]
        if len(ids) >= ann_threshold:
            stamps = vector_stamps(vectors) if stamps is None else stamps
            self._serve_graph(ann_cache, ids, stamps, rows_reader(ids, vectors), wait=wait, progress=progress)
            return
        self.ids, self.vectors = ids, vectors
        self.dim = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 0
        self._ann = None
        self.update: GraphUpdate | None = None
        self.graph_files: tuple[str, int] | None = None  # (cache, generation) of the graph served from disk
        # Converting float16 to float32 per query cost more than the product itself (research log).
        self._exact32 = vectors.astype(np.float32)

    def _serve_graph(self, ann_cache: Path | None, ids: np.ndarray, stamps: np.ndarray, vectors_of: VectorsOf, **graph) -> None:
        self._ann, self.update = open_graph(ann_cache, ids, stamps, vectors_of, **graph)
        # A generation on disk (not a graph kept in memory only): another process may search it.
        self.graph_files = (str(ann_cache), self._ann.generation) if ann_cache is not None and self._ann.generation else None
        self.ids, self.vectors = self._ann.ids, self._ann.vectors  # memory-mapped when cached
        self.dim = self.vectors.shape[1] if len(self.vectors) else 0
        self._exact32 = None

    @classmethod
    def load(cls, session: Session, model_id: str, dim: int, ann_cache: Path | None = None, ann_threshold: int = ANN_THRESHOLD, **graph) -> "VectorIndex":
        """Every stored vector of ``model_id`` (hidden papers are filtered at query time);
        ``graph``: ``wait``/``progress`` for the HNSW graph (see ``__init__``). Above the
        threshold only ids and text hashes are read, and the vectors the graph lacks."""
        for attempt in range(LOAD_ATTEMPTS):
            ids, stamps = _read_stamps(session, model_id)
            if len(ids) < ann_threshold:
                ids, vectors = _read_vectors(session, model_id, dim)
                return cls(ids, vectors, ann_threshold=ann_threshold)
            index = cls.__new__(cls)
            try:
                index._serve_graph(ann_cache, ids, stamps, lambda wanted: _read_vectors(session, model_id, dim, wanted)[1], **graph)
                return index
            except VectorsChanged:  # a paper was deleted between the two reads: read again
                if attempt == LOAD_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def uses_ann(self) -> bool:
        return self._ann is not None

    def rows_of(self, paper_ids) -> tuple[np.ndarray, np.ndarray]:
        """(paper ids that have a vector, their row numbers)."""
        wanted = np.asarray(list(paper_ids), dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return wanted[:0], wanted[:0]
        rows = np.clip(np.searchsorted(self.ids, wanted), 0, len(self.ids) - 1)
        present = self.ids[rows] == wanted
        return wanted[present], rows[present]

    def vector(self, paper_id: int) -> np.ndarray | None:
        _, rows = self.rows_of([paper_id])
        return self.vectors[rows[0]].astype(np.float32) if len(rows) else None

    def scores(self, query: np.ndarray, paper_ids) -> dict[int, float]:
        """Exact cosine of ``query`` with each given paper that has a vector."""
        ids, rows = self.rows_of(paper_ids)
        if not len(rows):
            return {}
        values = self.vectors[rows].astype(np.float32) @ query.astype(np.float32)
        return dict(zip(ids.tolist(), values.tolist()))

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` papers most similar to ``query`` (restricted to ``allowed`` ids if given)."""
        if not len(self.ids) or k <= 0:
            return []
        query = query.astype(np.float32)
        if allowed is not None:
            if self._ann is None or len(allowed) <= ANN_THRESHOLD:
                ids, rows = self.rows_of(sorted(allowed))
                return _top_k(ids, (self._exact32 if self._exact32 is not None else self.vectors)[rows], query, k)
            hits = self._ann.search(query, k * FILTER_OVERSAMPLE)
            return [(i, s) for i, s in hits if i in allowed][:k]
        if self._ann is not None:
            return self._ann.search(query, k)
        return _top_k(self.ids, self._exact32, query, k)


def _top_k(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    if not len(ids):
        return []
    scores = np.empty(len(ids), dtype=np.float32)
    with _BLAS.limit(limits=1, user_api="blas"):
        for start in range(0, len(ids), EXACT_BLOCK):
            scores[start : start + EXACT_BLOCK] = vectors[start : start + EXACT_BLOCK].astype(np.float32, copy=False) @ query
    k = min(k, len(ids))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return list(zip(ids[best].tolist(), scores[best].tolist()))


def _read_stamps(session: Session, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Paper ids (sorted) with vectors of ``model_id`` and their text hashes: ~2 s at 1M."""
    result = session.execute(
        text("SELECT paper_id, text_hash FROM paper_embeddings WHERE model = :model ORDER BY paper_id"), {"model": model_id}
    )
    ids, stamps = [], []
    while rows := result.fetchmany(LOAD_BLOCK):
        ids.extend(r[0] for r in rows)
        stamps.extend(r[1] for r in rows)
    return np.asarray(ids, dtype=np.int64), np.asarray(stamps, dtype=STAMP)


def _read_vectors(session: Session, model_id: str, dim: int, wanted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float16 vectors) of ``model_id``: all of them, or exactly the ``wanted`` ids (sorted),
    else ``VectorsChanged``. A few wanted ids are looked up; many are filtered from one scan."""
    if wanted is not None and len(wanted) <= LOAD_BLOCK:
        ids, blocks = [], []
        for start in range(0, len(wanted), 500):
            rows = session.execute(
                text("SELECT paper_id, vector FROM paper_embeddings WHERE model = :model AND paper_id IN :ids ORDER BY paper_id")
                .bindparams(bindparam("ids", expanding=True)),
                {"model": model_id, "ids": wanted[start : start + 500].tolist()},
            ).all()
            ids.extend(r[0] for r in rows)
            blocks.append(from_blobs([r[1] for r in rows], dim))
        found = np.asarray(ids, dtype=np.int64)
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float16)
    else:
        result = session.execute(
            text("SELECT paper_id, vector FROM paper_embeddings WHERE model = :model ORDER BY paper_id"), {"model": model_id}
        )
        ids, blocks = [], []
        while rows := result.fetchmany(LOAD_BLOCK):  # never a million row objects at once (~1 GB at 1M)
            ids.extend(r[0] for r in rows)
            blocks.append(from_blobs([r[1] for r in rows], dim))
        found = np.asarray(ids, dtype=np.int64)
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float16)
        del blocks
        if wanted is not None:
            rows = np.clip(np.searchsorted(found, wanted), 0, max(len(found) - 1, 0))
            if len(found) and np.array_equal(found[rows], wanted):
                found, vectors = wanted, vectors[rows]
    if wanted is not None and not np.array_equal(found, wanted):
        raise VectorsChanged(f"{len(wanted) - len(found)} of {len(wanted)} vectors are gone")
    return found, vectors
