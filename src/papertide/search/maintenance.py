"""Keeping what search reads up to date with the catalog: ``papertide index``, the worker after
each harvest, and anyone who changed papers in bulk call ``refresh_indexes``.

It runs, in order, each step resumable and cheap when there is nothing to do:

1. **vectors**: embeds every paper whose vector is missing or whose text changed
   (``semantic/indexer.py``; committed batch by batch, so an interrupted run loses nothing);
2. **keyword statistics**: PostgreSQL's BM25 term statistics (SQLite's FTS5 keeps its own);
3. **keyword impact index**: beside a SQLite catalog of ``impact.BUILD_FROM_PAPERS`` papers or
   more, rebuilt when stale (or always, ``rebuild_keyword_index``);
4. **vector graph**: beside a SQLite catalog above the graph threshold, updated in place.

Web workers then only open what it wrote (they would otherwise build the missing parts
themselves, in the background, slowly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import text
from tqdm import tqdm

from papertide.config import get_settings
from papertide.db import Database
from papertide.search.files import SearchFiles
from papertide.search.keyword.fts5 import read_corpus
import papertide.search.keyword.impact as impact
from papertide.search.keyword.impact_build import BuildSummary, build_impact_index
from papertide.search.keyword.postgres_stats import refresh_if_postgres
from papertide.search.keyword.terms import COLUMN_WEIGHTS
from papertide.search.semantic.ann import GraphUpdate
from papertide.search.semantic.embedder import Embedder
from papertide.search.semantic.indexer import IndexSummary, index_papers
from papertide.search.semantic.registry import load_embedder
from papertide.search.semantic.vectors import ANN_THRESHOLD, VectorIndex


@dataclass
class RefreshSummary:
    """What ``refresh_indexes`` did, step by step (None: the step had nothing to do here)."""

    vectors: IndexSummary = field(default_factory=IndexSummary)
    term_statistics: bool = False
    keyword_index: BuildSummary | None = None
    vector_graph: GraphUpdate | None = None

    def lines(self) -> list[str]:
        """One line per step that did something, for people."""
        lines = []
        if self.term_statistics:
            lines.append("refreshed the keyword search statistics (PostgreSQL)")
        if self.keyword_index is not None:
            lines.append(self.keyword_index.line())
        if self.vector_graph is not None:
            graph = self.vector_graph
            how = "rebuilt" if graph.rebuilt else f"{graph.added:,} vectors added, {graph.removed:,} removed"
            lines.append(f"vector graph generation {graph.generation}: {how}")
        return lines


def index_embedder(threads: int | None = None) -> Embedder:
    """The document embedder of the configured model, with ``threads`` threads (default
    ``PAPERTIDE_INDEX_THREADS``; 0: one per core). Raises ``EmbedderUnavailable``."""
    settings = get_settings()
    threads = settings.index_threads if threads is None else threads
    return load_embedder(settings.embedder, threads=threads or os.cpu_count())


def refresh_indexes(database: Database, embedder: Embedder | None = None, *, progress: bool = False, limit: int | None = None,
                    rebuild_keyword_index: bool = False, embed: bool = True) -> RefreshSummary:
    """Bring every index search reads up to date with ``database`` (see the module doc).
    ``embedder``: default ``index_embedder()``; ``limit``: embed at most that many papers;
    ``embed=False``: the vectors are already done (the worker embeds in batches shared with other
    workers). Raises ``EmbedderUnavailable`` when the model cannot be loaded."""
    embedder = embedder or index_embedder()
    summary = RefreshSummary()
    if embed:
        summary.vectors = index_papers(database, embedder, progress=progress, limit=limit)
    summary.term_statistics = refresh_if_postgres(database.engine)
    summary.keyword_index = build_keyword_index(database, progress=progress, only_if_stale=not rebuild_keyword_index)
    summary.vector_graph = update_vector_graph(database, embedder, progress=progress)
    return summary


def build_keyword_index(database: Database, *, progress: bool = False, only_if_stale: bool = False) -> BuildSummary | None:
    """Build (or rebuild) the keyword impact index of ``database`` now, if it is a SQLite catalog
    of at least ``impact.BUILD_FROM_PAPERS`` papers; None when it needs none."""
    files = SearchFiles(database.url)
    path = files.impact_index
    if path is None:
        return None
    with database.session() as session:
        if read_corpus(session).documents < impact.BUILD_FROM_PAPERS:
            return None
        if only_if_stale and not impact.needs_build(session, path, COLUMN_WEIGHTS):
            return None
    return build_impact_index(files.database_file, path, COLUMN_WEIGHTS, progress=progress)


def update_vector_graph(database: Database, embedder: Embedder, *, progress: bool = False, ann_threshold: int = ANN_THRESHOLD) -> GraphUpdate | None:
    """Bring the HNSW graph beside a SQLite database up to date with its vectors, so that the
    web workers find it current and only open it (None when the catalog is below the threshold
    or on PostgreSQL, where pgvector keeps its own index)."""
    cache = SearchFiles(database.url).vector_graph(embedder.model_id)
    if cache is None:
        return None
    with database.session() as session:
        count = session.execute(text("SELECT count(*) FROM paper_embeddings WHERE model = :m"), {"m": embedder.model_id}).scalar_one()
        if count < ann_threshold:
            return None
        with tqdm(desc="vector graph", unit=" vectors", disable=not progress, leave=False) as bar:
            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            index = VectorIndex.load(session, embedder.model_id, embedder.dim, cache, ann_threshold, wait=True, progress=advance)
    return index.update
