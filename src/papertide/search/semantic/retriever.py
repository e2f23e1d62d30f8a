"""The semantic side of a running search service: the query model, the current vectors, candidates.

- The query model is loaded on first use (``query_process.query_embedder``: in a child process
  by default). If it cannot load, semantic search is off for good and ``error`` says why; a query
  whose embedding fails (the model, or its process down or too slow) gets no semantic candidates.
  Search never fails because of the model.
- The vectors of that model (a ``VectorSearch``) are loaded on first use and checked for changes
  every ``refresh_seconds``: inline while the index is small, in the background once it is large
  (the check counts every vector, and a reload of the HNSW graph takes seconds), so queries keep
  the index they have meanwhile.
- ``begin`` starts embedding a query beside the caller's keyword work (in the query process,
  which then also searches the graph, or on a thread); ``candidates`` takes its answer.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.search.files import SearchFiles
from papertide.search.filters import SqlFilter, passing
from papertide.search.semantic.ann import generation
from papertide.search.semantic.embedder import Embedder, EmbedderUnavailable
from papertide.search.semantic.query_process import GraphQuery, PendingQuery, QueryProcess, QueryProcessError, query_embedder
from papertide.search.semantic.vectors import ANN_THRESHOLD, FILTER_OVERSAMPLE, VectorIndex, VectorSearch
from papertide.search.semantic.vectors_postgres import PostgresVectorIndex
from papertide.search.trace import span

log = logging.getLogger(__name__)
_EMBEDDING_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="papertide-embed")
_REFRESH_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papertide-vectors")
QUERY_THREADS = 1  # threads for query embedding: one, see minilm.MiniLM


@dataclass(frozen=True)
class SemanticOptions:
    """How the semantic side loads and searches its vectors (tests and benchmarks vary them)."""

    ann_threshold: int = ANN_THRESHOLD  # from this many vectors an HNSW graph answers (SQLite)
    refresh_seconds: float = 10.0  # how often a running service looks for newly indexed vectors
    inline_refresh_limit: int = 20_000  # above this many vectors that look happens in the background
    graph_in_query_process: bool = True  # the query process searches the graph too (else this process)
    refresh_executor: Executor | None = None  # where background looks run (None: one shared thread)


class SemanticRetriever:
    """The semantic side of one database (see the module doc). Thread-safe."""

    def __init__(self, database: Database, embedder: Embedder | str | None = "default", options: SemanticOptions = SemanticOptions()):
        """``embedder``: a model name (loaded on first use), an embedder, or None for none."""
        self.database, self.options = database, options
        self._files = SearchFiles(database.url)
        self._spec = embedder
        self._embedder: Embedder | None = embedder if embedder is not None and not isinstance(embedder, str) else None
        self.error: str | None = None if embedder is not None else "semantic search disabled"
        self._index: VectorSearch | None = None
        self._signature: tuple | None = None
        self._checked_at = 0.0
        self._refreshing = False
        self.refreshing: Future | None = None  # the last background look at the vectors
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder is None and self.error is None:
            with self._lock:
                if self._embedder is None and self.error is None:
                    try:
                        self._embedder = query_embedder(self._spec, threads=QUERY_THREADS)
                    except EmbedderUnavailable as error:
                        self._off(error)
        return self._embedder

    # -- one query ---------------------------------------------------------------------------

    def begin(self, session: Session, query: str, where: SqlFilter, depth: int):
        """Start embedding ``query`` beside the caller's work; None when there is no semantic side
        (or no vector to compare it with). In the query process the graph is searched too,
        ``depth`` deep (oversampled if filtered)."""
        index = self.index(session)
        if index is None or not len(index):
            return None
        graph = None
        if self.options.graph_in_query_process and index.graph_files is not None:
            graph = GraphQuery(*index.graph_files, depth * FILTER_OVERSAMPLE if where.active else depth)
        return self._embed_beside(query, graph)

    def vector_of(self, pending) -> np.ndarray | None:
        """The query vector ``begin`` started, or None if its embedding failed (logged)."""
        try:
            return pending.result()
        except EmbedderUnavailable as error:
            self._off(error)
        except QueryProcessError as error:  # its cause is logged once by the QueryProcess, not per query
            log.debug("query embedding failed, keyword only: %s", error)
        except Exception as error:  # noqa: BLE001 - any model failure means keyword-only, not a 500
            log.warning("query embedding failed, keyword only: %s", error)
        return None

    def candidates(self, session: Session, vector: np.ndarray | None, keyword_ids: list[int], where: SqlFilter, depth: int,
                   pending=None) -> tuple[list[tuple[int, float]], dict[int, float]]:
        """The ``depth`` best semantic candidates passing ``where``, and the cosine of every
        candidate (the keyword side's too, scored first: while the query process searches the
        graph, if it does). ``pending``: ``begin``'s answer, whose graph hits are used if given."""
        index = self.index(session)
        if index is None or not len(index) or vector is None:
            return [], {}
        cosines = index.scores(vector, keyword_ids)
        with span("graph hits"):  # the query process's answer, if it searched the graph
            searched = pending.graph_hits() if isinstance(pending, PendingQuery) else None
        semantic = None
        if where.active and index.uses_ann and not index.filters_in_sql:
            # Filter the graph's wider answer by SQL on those ids only: listing every paper that
            # passes a date filter is slow at scale. A narrow filter falls through.
            wide = searched if searched is not None else index.search(vector, depth * FILTER_OVERSAMPLE)
            kept = passing(session, [pid for pid, _ in wide], where) if wide else set()
            semantic = [(pid, score) for pid, score in wide if pid in kept][:depth]
            if len(semantic) < depth:
                semantic = None
        if semantic is None and searched is not None and not where.active:
            semantic = searched[:depth]
        if semantic is None:
            allowed = set(session.execute(text(f"SELECT p.id FROM papers AS p WHERE {where.condition}"), where.params).scalars()) \
                if where.active else None
            semantic = index.search(vector, depth, allowed)
        # The semantic hits keep the cosines they came with: exact below the graph threshold and
        # on pgvector, within rounding of the stored vectors' on the graph (research log).
        cosines.update((pid, score) for pid, score in semantic if pid not in cosines)
        return semantic, cosines

    def neighbours(self, session: Session, paper_id: int, paper_text: str, k: int) -> list[tuple[int, float]] | None:
        """The ``k`` papers nearest to ``paper_id`` (its stored vector, else ``paper_text`` embedded);
        None when there is no semantic side to ask."""
        index = self.index(session)
        vector = index.vector(paper_id) if index is not None else None
        if vector is None and index is not None and len(index):
            vector = self.vector_of(self._embed_beside(paper_text))
        return index.search(vector, k) if vector is not None else None

    # -- the vectors -------------------------------------------------------------------------

    def index(self, session: Session) -> VectorSearch | None:
        """The vectors of the current model, as last checked (see the module doc)."""
        embedder = self.embedder
        if embedder is None:
            return None
        now = time.monotonic()
        index = self._index
        if index is not None and now - self._checked_at < self.options.refresh_seconds:
            return index
        if index is not None and len(index) >= self.options.inline_refresh_limit:
            with self._lock:
                if not self._refreshing:
                    self._refreshing, self._checked_at = True, now
                    self.refreshing = (self.options.refresh_executor or _REFRESH_POOL).submit(self._refresh_in_background, embedder)
            return index
        self._refresh(session, embedder)
        return self._index

    def _refresh_in_background(self, embedder: Embedder) -> None:
        try:
            with self.database.session() as session:
                self._refresh(session, embedder, wait=True)
        except Exception:  # noqa: BLE001 - a failed check keeps the current index; logged
            log.exception("vector index refresh failed; keeping the current index")
        finally:
            self._refreshing = False

    def _refresh(self, session: Session, embedder: Embedder, wait: bool = False) -> None:
        """Reload the vectors if they changed: their count or largest id, or the generation of the
        HNSW graph on disk (another process updated it, e.g. for re-embedded papers). ``wait``: if
        another process is updating the graph, wait for it (a background check) rather than
        serve its previous generation now and look again at the next check."""
        cache = self._files.vector_graph(embedder.model_id)
        counts = session.execute(
            text("SELECT count(*), max(paper_id) FROM paper_embeddings WHERE model = :m"), {"m": embedder.model_id}
        ).one()
        signature = (*counts, generation(cache))
        with self._load_lock:  # one load at a time; queries are not blocked by it once an index exists
            self._checked_at = time.monotonic()
            if self._index is not None and signature == self._signature:
                return
            with span("load vectors"):
                if session.get_bind().dialect.name == "postgresql":  # pgvector answers; no vectors in memory
                    index = PostgresVectorIndex(self.database, embedder.model_id, embedder.dim, signature[0])
                else:
                    index = VectorIndex.load(session, embedder.model_id, embedder.dim, cache, self.options.ann_threshold, wait=wait)
                    if index.update is not None:  # the graph may have moved on while we read
                        signature = (*counts, None if index.update.stale else index.update.generation or None)
            self._index, self._signature = index, signature

    # -- the model ---------------------------------------------------------------------------

    def _off(self, error: EmbedderUnavailable) -> None:
        self.error, self._embedder = str(error), None
        log.warning("semantic search off, keyword only: %s", error)

    def _embed_beside(self, query: str, graph: GraphQuery | None = None):
        """In the query process (a ``PendingQuery``, which searches ``graph`` too) or on a thread (a ``Future``)."""
        embedder = self.embedder
        if isinstance(embedder, QueryProcess):
            return embedder.submit(query, graph)
        if embedder is None:  # turned off by another thread's query meanwhile
            done: Future = Future()
            done.set_result(None)
            return done
        return _EMBEDDING_POOL.submit(embedder.embed_query, query)

