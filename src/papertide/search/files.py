"""The files search keeps beside a SQLite database: where each one lives, in one place.

All of them are derived from the database and rebuilt when missing (``papertide index``, or in the
background), so a backup needs only the database itself::

    papertide.db.impact                    the keyword impact index (keyword/impact_build.py)
    papertide.db.impact.lock               held by the one process building it
    papertide.db.<model>.usearch.json      the vector graph's manifest, naming its current generation
    papertide.db.<model>.usearch.<n>.*     generation n of the graph: graph, ids, stamps, vectors (semantic/ann.py)
    papertide.db.<model>.usearch.lock      held by the one process updating it

A PostgreSQL (or in-memory) database has none: pgvector's index and the term statistics live in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from papertide.db import beside_sqlite_file


@dataclass(frozen=True)
class SearchFiles:
    """The search files of the database at ``database_url``."""

    database_url: str

    @property
    def database_file(self) -> Path | None:
        """The SQLite file itself (None for other backends)."""
        return beside_sqlite_file(self.database_url, "")

    @property
    def impact_index(self) -> Path | None:
        return beside_sqlite_file(self.database_url, ".impact")

    def vector_graph(self, model_id: str) -> Path | None:
        """The cache path of ``model_id``'s graph (``ann.GraphFiles`` names its files from it)."""
        slug = "".join(ch if ch.isalnum() else "-" for ch in model_id.split("/")[-1].lower())
        return beside_sqlite_file(self.database_url, f".{slug}.usearch")
