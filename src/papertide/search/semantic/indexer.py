"""Filling ``paper_embeddings``: computing missing vectors, and importing precomputed ones.

Indexing is resumable by construction: each batch is committed on its own, and a paper is
(re)embedded only when it has no vector of the current model or its text changed since
(``text_hash``). Stopping at any point and running again finishes the job.

Precomputed vectors (the demo corpus ships them) are an ``.npz`` file: arXiv ids, text hashes,
float16 vectors, the model id and a SHA-256 of the vectors. An imported vector is used only when
its model and text hash match the paper in the catalog, so a stale file cannot poison search.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, delete, insert, text
from tqdm import tqdm

from papertide.db import Database
from papertide.search.semantic.embedder import Embedder, document_text
from papertide.search.semantic.models import PaperEmbedding
from papertide.search.semantic.vectors import to_blob

SCAN_BATCH = 2_000  # papers read per step while looking for work
EMBED_BATCH = 128  # papers embedded and committed together

embeddings = PaperEmbedding.__table__


def text_hash(title: str, abstract: str) -> str:
    return hashlib.blake2b(document_text(title, abstract).encode(), digest_size=16).hexdigest()


@dataclass
class IndexSummary:
    embedded: int = 0
    imported: int = 0
    up_to_date: int = 0

    def line(self) -> str:
        return f"embedded {self.embedded:,} / imported {self.imported:,} / already up to date {self.up_to_date:,}"


def _stale(database: Database, model_id: str):
    """Yield lists of (paper id, title, abstract, hash) that need a vector, in id order."""
    last_id = 0
    while True:
        with database.session() as session:
            rows = session.execute(
                text(
                    "SELECT p.id, p.title, p.abstract, e.text_hash FROM papers AS p "
                    "LEFT JOIN paper_embeddings AS e ON e.paper_id = p.id AND e.model = :model "
                    "WHERE p.id > :last ORDER BY p.id LIMIT :n"
                ),
                {"model": model_id, "last": last_id, "n": SCAN_BATCH},
            ).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield len(rows), [(r[0], r[1], r[2] or "", h) for r in rows if (h := text_hash(r[1], r[2] or "")) != r[3]]


def count_stale(database: Database, model_id: str) -> tuple[int, int]:
    """(papers needing a vector, papers in total)."""
    total = stale = 0
    for scanned, rows in _stale(database, model_id):
        total += scanned
        stale += len(rows)
    return stale, total


def _store(database: Database, model_id: str, items: list[tuple[int, str, np.ndarray]]) -> None:
    if not items:
        return
    with database.session() as session:
        session.execute(delete(embeddings).where(embeddings.c.paper_id.in_([i for i, _, _ in items])))
        session.execute(
            insert(embeddings),
            [{"paper_id": pid, "model": model_id, "text_hash": h, "vector": to_blob(v)} for pid, h, v in items],
        )


def index_papers(
    database: Database,
    embedder: Embedder,
    *,
    progress: bool = True,
    limit: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> IndexSummary:
    """Embed every paper whose vector is missing or stale; ``limit`` stops after that many."""
    summary = IndexSummary()
    stale, total = count_stale(database, embedder.model_id)
    summary.up_to_date = total - stale
    todo = stale if limit is None else min(stale, limit)
    with tqdm(total=todo, desc="embedding", unit=" papers", disable=not progress, leave=False) as bar:
        for _, rows in _stale(database, embedder.model_id):
            for start in range(0, len(rows), EMBED_BATCH):
                if summary.embedded >= todo:
                    return summary
                chunk = rows[start : start + EMBED_BATCH][: todo - summary.embedded]
                vectors = embedder.embed_documents([document_text(t, a) for _, t, a, _ in chunk])
                _store(database, embedder.model_id, [(pid, h, v) for (pid, _, _, h), v in zip(chunk, vectors)])
                summary.embedded += len(chunk)
                bar.update(len(chunk))
                if on_batch:
                    on_batch(len(chunk))
    return summary


# -- precomputed vectors -----------------------------------------------------------------------


class VectorFileError(ValueError):
    """A precomputed vector file that is damaged or made by another model."""


def vectors_checksum(vectors: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(vectors, dtype="<f2").tobytes()).hexdigest()


def export_vectors(database: Database, model_id: str, path: Path) -> int:
    """Write every stored vector of ``model_id`` with its arXiv id and text hash to ``path``."""
    with database.session() as session:
        rows = session.execute(
            text(
                "SELECT p.arxiv_id, e.text_hash, e.vector FROM paper_embeddings AS e JOIN papers AS p ON p.id = e.paper_id "
                "WHERE e.model = :model ORDER BY p.arxiv_id"
            ),
            {"model": model_id},
        ).all()
    vectors = np.stack([np.frombuffer(r[2], dtype="<f2") for r in rows]) if rows else np.zeros((0, 0), "<f2")
    np.savez_compressed(
        path,
        arxiv_ids=np.array([r[0] for r in rows]),
        text_hashes=np.array([r[1] for r in rows]),
        vectors=vectors,
        model=np.array(model_id),
        sha256=np.array(vectors_checksum(vectors)),
    )
    return len(rows)


def import_vectors(database: Database, model_id: str, path: Path, summary: IndexSummary | None = None) -> IndexSummary:
    """Store the vectors of ``path`` for papers whose text still matches; verify model and checksum."""
    summary = summary or IndexSummary()
    with np.load(path, allow_pickle=False) as data:
        if str(data["model"]) != model_id:
            raise VectorFileError(f"{path} holds vectors of {data['model']}, not {model_id}")
        vectors = data["vectors"]
        if vectors_checksum(vectors) != str(data["sha256"]):
            raise VectorFileError(f"{path}: checksum mismatch, the file is damaged")
        wanted = dict(zip(data["arxiv_ids"].tolist(), zip(data["text_hashes"].tolist(), range(len(vectors)))))
    with database.session() as session:
        rows = session.execute(
            text(
                "SELECT p.id, p.arxiv_id, e.text_hash FROM papers AS p "
                "LEFT JOIN paper_embeddings AS e ON e.paper_id = p.id AND e.model = :model WHERE p.arxiv_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"model": model_id, "ids": list(wanted)},
        ).all() if wanted else []
    items = []
    for paper_id, arxiv_id, current in rows:
        stored_hash, row = wanted[arxiv_id]
        if current == stored_hash:
            continue
        items.append((paper_id, stored_hash, row))
    titles = {}
    if items:
        with database.session() as session:
            statement = text("SELECT id, title, abstract FROM papers WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
            titles = {r[0]: text_hash(r[1], r[2] or "") for r in session.execute(statement, {"ids": [i for i, _, _ in items]})}
    fresh = [(pid, h, vectors[row]) for pid, h, row in items if titles.get(pid) == h]
    for start in range(0, len(fresh), 1_000):
        _store(database, model_id, fresh[start : start + 1_000])
    summary.imported += len(fresh)
    return summary
