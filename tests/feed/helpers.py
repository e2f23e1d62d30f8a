"""A real catalog slice for the reader's features: the newest demo papers with their shipped
embeddings, written to ``paper_embeddings`` as ``papertide index --import`` stores them."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, time, timedelta, timezone

import numpy as np
from sqlalchemy import select, text

from papertide.catalog.models import Paper
from papertide.catalog.upsert import upsert_papers
from papertide.db import Database
from papertide.ingest.jsonl import record_from_mapping
from tests.conftest import DEMO_CORPUS

DEMO_VECTORS = DEMO_CORPUS.with_name("papers.embeddings.npz")


def demo_rows(count: int) -> list[dict]:
    """The newest ``count`` demo papers of the daily list, oldest first."""
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        rows = [row for row in map(json.loads, lines) if row.get("daily_date")]
    rows.sort(key=lambda row: (row.get("daily_date") or "", row["arxiv_id"]))
    return rows[-count:]


def load_slice(database: Database, count: int) -> tuple[list[dict], datetime]:
    """Ingest the newest ``count`` demo papers and import their vectors; returns the rows and a
    ``now`` on the morning after the newest daily list."""
    rows = demo_rows(count)
    with database.session() as session:
        upsert_papers(session, [record_from_mapping(row) for row in rows])
    import_demo_vectors(database)
    newest = max(row["daily_date"] for row in rows)
    return rows, datetime.combine(datetime.fromisoformat(newest).date() + timedelta(days=1), time(8), timezone.utc)


def import_demo_vectors(database: Database) -> int:
    with np.load(DEMO_VECTORS, allow_pickle=False) as stored:
        vectors = dict(zip(stored["arxiv_ids"].tolist(), stored["vectors"]))
        hashes = dict(zip(stored["arxiv_ids"].tolist(), stored["text_hashes"].tolist()))
        model = str(stored["model"])
    with database.session() as session:
        ids = dict(session.execute(select(Paper.arxiv_id, Paper.id)).all())
        rows = [{"p": ids[a], "m": model, "h": hashes[a], "v": np.asarray(vectors[a], dtype="<f2").tobytes()}
                for a in ids if a in vectors]
        session.execute(text("INSERT INTO paper_embeddings (paper_id, model, text_hash, vector) VALUES (:p, :m, :h, :v)"), rows)
    return len(rows)
