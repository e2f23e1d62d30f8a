"""After a harvest: new papers embedded, the keyword and vector indexes brought up to date.

Search's maintenance does the work (``papertide.search.refresh_indexes``); the worker keeps the
document embedder loaded between runs, since loading it costs seconds and the model's memory.
"""

from __future__ import annotations

import os
import threading

from papertide.config import Settings
from papertide.db import Database
from papertide.search import refresh_indexes
from papertide.search.semantic.registry import load_embedder

_embedders: dict[tuple[str, int], object] = {}
_loading = threading.Lock()


def refresh_search_indexes(database: Database, settings: Settings, *, progress: bool = False) -> str:
    """Embed every paper missing a vector, refresh the keyword statistics and impact index, and
    update the vector graph; one line saying what was done."""
    summary = refresh_indexes(database, _embedder(settings), progress=progress)
    return ", ".join([f"embedded {summary.vectors.embedded:,}", *summary.lines()])


def _embedder(settings: Settings):
    """The document embedder, loaded once per worker process."""
    threads = settings.index_threads or os.cpu_count() or 1
    key = (settings.embedder, threads)
    with _loading:
        if key not in _embedders:
            _embedders[key] = load_embedder(settings.embedder, threads=threads)
        return _embedders[key]
