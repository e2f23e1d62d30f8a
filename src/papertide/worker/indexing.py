"""After a harvest: new papers embedded, the keyword and vector indexes brought up to date.

Embedding is shared (``worker.embedding``): the worker running the search-index job queues the
papers that need a vector and embeds them in claimed batches, and every other worker that finds
papers waiting joins in (``help_embed``, at the end of each pass). Search's maintenance then does
the rest (``papertide.search.refresh_indexes``). The worker keeps the document embedder loaded
between runs, since loading it costs seconds and the model's memory.
"""

from __future__ import annotations

import os
import threading

from papertide.config import Settings
from papertide.db import Database
from papertide.search import EmbedderUnavailable, refresh_indexes
from papertide.search.semantic.registry import load_embedder, model
from papertide.worker.clock import Clock
from papertide.worker.embedding import SharedSummary, embed_shared, waiting

_embedders: dict[tuple[str, int], object] = {}
_loading = threading.Lock()


def refresh_search_indexes(database: Database, settings: Settings, holder: str, *, clock: Clock | None = None,
                           stop: threading.Event | None = None, progress: bool = False) -> str:
    """Embed every paper missing a vector (with any workers that join in), refresh the keyword
    statistics and impact index, and update the vector graph; one line saying what was done."""
    embedder = _embedder(settings)
    shared = embed_shared(database, embedder, holder, clock=clock, stop=stop)
    summary = refresh_indexes(database, embedder, progress=progress, embed=False)
    return ", ".join([shared.line(), *summary.lines()])


def help_embed(database: Database, settings: Settings, holder: str, *, clock: Clock | None = None,
               stop: threading.Event | None = None) -> SharedSummary | None:
    """Embed papers another worker queued, alongside it; None when none are waiting (the model is
    then not even loaded)."""
    try:
        model_id = model(settings.embedder).model_id
    except EmbedderUnavailable:  # a misconfigured model: the search-index job reports it
        return None
    count, _ = waiting(database, model_id)
    if not count:
        return None
    return embed_shared(database, _embedder(settings), holder, clock=clock, stop=stop, queue=False)


def _embedder(settings: Settings):
    """The document embedder, loaded once per worker process."""
    threads = settings.index_threads or os.cpu_count() or 1
    key = (settings.embedder, threads)
    with _loading:
        if key not in _embedders:
            _embedders[key] = load_embedder(settings.embedder, threads=threads)
        return _embedders[key]
