"""After a harvest: new papers embedded, the keyword and vector indexes brought up to date.

One function, so that the pipeline calls search's maintenance in one place.
"""

from __future__ import annotations

import os
import threading

from papertide.config import Settings
from papertide.db import Database

_embedders: dict[tuple[str, int], object] = {}
_loading = threading.Lock()


def refresh_search_indexes(database: Database, settings: Settings, *, progress: bool = False) -> str:
    """Embed every paper missing a vector, refresh the keyword statistics and impact index, and
    update the vector graph; one line saying what was done."""
    # re-pointed to papertide.search.refresh_indexes at merge
    from papertide.search import term_stats
    from papertide.search.impact_search import build_for
    from papertide.search.indexer import index_papers, update_vector_graph
    from papertide.search.keyword import COLUMN_WEIGHTS

    embedder = _embedder(settings)
    computed = index_papers(database, embedder, progress=progress)
    parts = [f"embedded {computed.embedded:,}"]
    if term_stats.refresh_if_postgres(database.engine):
        parts.append("keyword statistics refreshed")
    if built := build_for(database, COLUMN_WEIGHTS, progress=progress):
        parts.append(built.line())
    graph = update_vector_graph(database, embedder, progress=progress)
    if graph is not None:
        parts.append(f"vector graph generation {graph.generation}" + (" rebuilt" if graph.rebuilt else f" +{graph.added:,}"))
    return ", ".join(parts)


def _embedder(settings: Settings):
    """The document embedder, loaded once per worker process (seconds, and the model's memory)."""
    from papertide.search.embedder import load_embedder

    threads = settings.index_threads or os.cpu_count() or 1
    key = (settings.embedder, threads)
    with _loading:
        if key not in _embedders:
            _embedders[key] = load_embedder(settings.embedder, threads=threads)
        return _embedders[key]
