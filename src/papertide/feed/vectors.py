"""Paper embeddings read straight from ``paper_embeddings``, for ranking a few thousand papers.

Search keeps its own index of every vector; the "For you" ranking needs only the vectors of a
reader's anchors and of the new papers, so it reads those rows with one query instead of
asking search (whose in-memory index is per worker and may not be loaded). Vectors are stored
as little-endian float16, one model per row; an installation that changed its embedder holds
several models for a while, so they come back by model and the caller picks one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

CHUNK = 5_000  # ids per query: bounded statement size on both backends

_query = text("SELECT paper_id, model, vector FROM paper_embeddings WHERE paper_id IN :ids").bindparams(
    bindparam("ids", expanding=True))


@dataclass(frozen=True)
class Vectors:
    """Unit-length float32 rows of one model, and the paper id of each row."""

    model: str
    ids: np.ndarray
    rows: np.ndarray

    def of(self, paper_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``paper_ids`` that have a vector, those vectors)."""
        where = {paper_id: row for row, paper_id in enumerate(self.ids.tolist())}
        found = [(i, where[p]) for i, p in enumerate(paper_ids) if p in where]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.rows.shape[1] if self.rows.ndim == 2 else 0), np.float32)
        positions, rows = zip(*found)
        return np.asarray(positions), self.rows[list(rows)]


def load_by_model(session: Session, paper_ids: Sequence[int]) -> dict[str, Vectors]:
    """The stored vectors of ``paper_ids``, by model (several when the embedder was changed)."""
    by_model: dict[str, dict[int, bytes]] = defaultdict(dict)
    wanted = list(dict.fromkeys(paper_ids))
    for start in range(0, len(wanted), CHUNK):
        for paper_id, model, blob in session.execute(_query, {"ids": wanted[start:start + CHUNK]}):
            by_model[model][paper_id] = bytes(blob)
    return {model: _unit_rows(model, blobs) for model, blobs in by_model.items()}


def _unit_rows(model: str, blobs: dict[int, bytes]) -> Vectors:
    ids = np.fromiter(blobs, dtype=np.int64, count=len(blobs))
    rows = np.frombuffer(b"".join(blobs.values()), dtype="<f2").reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return Vectors(model, ids, rows / np.where(norms > 0, norms, 1.0))


def closest(anchors: np.ndarray, others: np.ndarray, second: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``others``: how close it is to the anchors, and which anchor is closest.
    Closeness is the cosine of the closest anchor, blended with the second closest's by
    ``second`` (0.3: 70/30): a paper near two of a reader's papers beats one near a single one."""
    if not len(anchors) or not len(others):
        return np.zeros(len(others), np.float32), np.zeros(len(others), dtype=np.int64)
    similarity = others @ anchors.T
    best = similarity.argmax(axis=1)
    closeness = similarity[np.arange(len(others)), best]
    if second and anchors.shape[0] > 1:
        runner_up = np.partition(similarity, -2, axis=1)[:, -2]
        closeness = (1 - second) * closeness + second * runner_up
    return closeness, best
