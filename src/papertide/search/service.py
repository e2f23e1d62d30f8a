"""``SearchService``: what the web pages, the API, the digest and the CLI call to search.

One query goes through, in order:

1. nothing to search for (blank, or no word at all): no results;
2. an arXiv id or URL: that paper, straight away (or nothing if it is not in the catalog);
3. an exact title (case-insensitive): that paper first, then the rest;
4. hybrid: BM25 (FTS5) top candidates and semantic top candidates, fused (``fusion.py``).

The query is embedded while the keyword side runs: in a child process (``query_process.py``, the
default for the real model: no GIL shared with the keyword side) or on a thread. If the embedding
model cannot be loaded, search carries on with keywords only and says so in
``SearchService.semantic_error``; a query whose embedding fails (the model, or its process down
or too slow) is answered with keywords only. Search never fails because of the model.
Date and organisation filters apply to every path; hidden papers are never returned.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
from sqlalchemy import bindparam, text

from papertide.catalog.arxiv_ids import InvalidArxivId, is_arxiv_id, parse_arxiv_id
from papertide.db import Database
from papertide.search.semantic import ann
from papertide.search.semantic.embedder import Embedder, EmbedderUnavailable
from papertide.search.fusion import fuse
from papertide.search.keyword import Filters, keyword_search
from papertide.search.semantic.query_process import GraphQuery, PendingQuery, QueryProcess, QueryProcessError, query_embedder
from papertide.search.semantic.vectors import FILTER_OVERSAMPLE, VectorIndex
from papertide.search.semantic.vectors_postgres import PostgresVectorIndex

log = logging.getLogger(__name__)
_EMBEDDING_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="papertide-embed")
_REFRESH_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papertide-vectors")

CANDIDATES = 100  # taken from each retriever before fusion
MAX_QUERY_CHARS = 2_000  # longer input is cut: the model reads 256 tokens, FTS5 64 terms
REFRESH_SECONDS = 10.0  # how often a running service looks for newly indexed vectors
INLINE_REFRESH_LIMIT = 20_000  # above this many vectors that look happens on a background thread
QUERY_THREADS = 1  # torch threads for query embedding: see minilm.MiniLM


@dataclass(frozen=True)
class SearchHit:
    """One result. ``match`` says why it is here: ``arxiv_id``, ``title``, ``hybrid``, ``keyword``
    (matched words only) or ``semantic`` (similar meaning only); ``similar`` for similar papers."""

    paper_id: int
    arxiv_id: str
    title: str
    authors: list[str]
    published_at: datetime | None
    organization: str | None
    score: float
    match: str

    def to_dict(self) -> dict:
        return {
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "authors": self.authors,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "organization": self.organization,
            "score": round(self.score, 4),
            "match": self.match,
        }


class SearchService:
    """Hybrid search and similar papers over one database. Thread-safe; create one per process."""

    def __init__(self, database: Database, embedder: Embedder | str | None = "default", *, ann_threshold: int | None = None):
        self.database = database
        self._embedder_spec = embedder
        self._embedder: Embedder | None = embedder if embedder is not None and not isinstance(embedder, str) else None
        self.semantic_error: str | None = None if embedder is not None else "semantic search disabled"
        self._ann_threshold = ann_threshold
        self._index: VectorIndex | None = None
        self._index_signature: tuple | None = None
        self._checked_at = 0.0
        self._refreshing = False
        self.refreshing: Future | None = None  # the last background check of the vectors
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    # -- public API -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 20,
        date_from: date | datetime | None = None,
        date_to: date | datetime | None = None,
        organization: str | None = None,
    ) -> list[SearchHit]:
        """The best ``limit`` papers for ``query``; ``date_from`` inclusive, ``date_to`` exclusive
        (on ``published_at``), ``organization`` an organisation slug. Never raises on user input."""
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        limit = max(1, min(int(limit), 200))
        filters = Filters(date_from, date_to, organization or None)
        if not any(ch.isalnum() for ch in query):
            return []
        with self.database.session() as session:
            if is_arxiv_id(query):  # an id means that paper; words or meaning of "2405.15738" mean nothing
                direct = self._arxiv_id_hit(session, query, filters)
                return [direct] if direct else []
            # The query embedding (and the graph search, in the query process) runs on the second
            # core while SQLite searches.
            index = self._vector_index(session)
            pending = self._embed_beside(query, _graph_query(index, filters)) if index else None
            first = self._title_match(session, query, filters)
            keyword = keyword_search(session, query, CANDIDATES, filters)
            # While the query process works, load the rows of the likely hits (the keyword side's
            # best): after fusion only the others are read.
            prefetched = self._rows(session, ([first] if first else []) + [pid for pid, _ in keyword[: limit + 10]], filters) if pending else {}
            vector = self._vector_of(pending) if pending else None
            semantic, cosines = self._semantic(session, vector, keyword, filters, pending)
            fused = fuse(keyword, semantic, cosines, limit=limit + 11)  # (+1: ``first`` may be among them)
            ordered = ([first] if first else []) + [f.paper_id for f in fused if f.paper_id != first]
            reasons = {f.paper_id: _reason(f.keyword_rank, f.semantic_rank) for f in fused}
            scores = {f.paper_id: f.score for f in fused}
            if first:
                reasons[first] = "title"
                scores[first] = max(scores.values(), default=0.0) + 1.0
            return self._hydrate(session, ordered[: limit + 10], filters, scores, reasons, prefetched)[:limit]

    def similar(self, arxiv_id: str, k: int = 10) -> list[SearchHit]:
        """The ``k`` papers nearest to ``arxiv_id`` in meaning (by title words if there are no
        vectors). Empty when the paper is unknown."""
        try:
            key, _ = parse_arxiv_id(arxiv_id)
        except InvalidArxivId:
            return []
        k = max(1, min(int(k), 100))
        with self.database.session() as session:
            row = session.execute(text("SELECT id, title, abstract FROM papers WHERE arxiv_id = :a"), {"a": key}).first()
            if row is None:
                return []
            paper_id, title, abstract = row
            index = self._vector_index(session)
            vector = index.vector(paper_id) if index is not None else None
            if vector is None and index is not None and len(index):
                vector = self._embed_query(f"{title}. {abstract}")
            if vector is not None:
                neighbours = index.search(vector, k + 11)
            else:
                neighbours = keyword_search(session, title, k + 11)
            neighbours = [(pid, s) for pid, s in neighbours if pid != paper_id]
            hits = self._hydrate(session, [pid for pid, _ in neighbours], Filters(), dict(neighbours), {})
            return [SearchHit(**{**h.__dict__, "match": "similar"}) for h in hits[:k]]

    def warm(self) -> None:
        """Load now what the first query would wait for: the model (and its query path), the
        vectors (at 1M the HNSW graph: seconds to load, much longer to build once) and the keyword
        side's word statistics (one pass over the FTS5 index: 4 CPU-seconds at 1M). For a
        server's startup: a query runs through every step, so nothing is left lazy."""
        self.search("warm up", limit=1)

    # -- steps --------------------------------------------------------------------------------

    def _arxiv_id_hit(self, session, query: str, filters: Filters) -> SearchHit | None:
        key, _ = parse_arxiv_id(query)
        row = session.execute(text("SELECT id FROM papers WHERE arxiv_id = :a"), {"a": key}).first()
        if row is None:
            return None
        hits = self._hydrate(session, [row[0]], filters, {row[0]: 1.0}, {row[0]: "arxiv_id"})
        return hits[0] if hits else None

    def _title_match(self, session, query: str, filters: Filters) -> int | None:
        condition, params = filters.sql(dialect=session.get_bind().dialect.name)
        row = session.execute(
            text(f"SELECT p.id FROM papers AS p WHERE lower(p.title) = lower(:q) AND {condition} ORDER BY p.id LIMIT 1"),
            {"q": query.rstrip(". "), **params},
        ).first()
        if row is None and query.endswith("."):
            row = session.execute(
                text(f"SELECT p.id FROM papers AS p WHERE lower(p.title) = lower(:q) AND {condition} ORDER BY p.id LIMIT 1"),
                {"q": query, **params},
            ).first()
        return row[0] if row else None

    def _semantic(self, session, vector: np.ndarray | None, keyword, filters: Filters, pending=None):
        """The semantic candidates and the cosine of every candidate. ``pending``: the
        query process's answer, whose graph hits for ``vector`` (``_graph_query``) are used if it
        gives them. The keyword candidates are scored first: while the child searches, if it does."""
        index = self._vector_index(session)
        if index is None or not len(index) or vector is None:
            return [], {}
        cosines = index.scores(vector, [pid for pid, _ in keyword])
        searched = pending.graph_hits() if isinstance(pending, PendingQuery) else None
        semantic = None
        condition, params = filters.sql(dialect=session.get_bind().dialect.name)
        if filters.active and isinstance(index, VectorIndex) and index.uses_ann:  # (pgvector filters in SQL)
            # Filter the graph's wider answer by SQL on those ids only: listing every paper that
            # passes a date filter cost hundreds of ms at 1M. A narrow filter falls through.
            wide = searched if searched is not None else index.search(vector, CANDIDATES * FILTER_OVERSAMPLE)
            statement = text(f"SELECT p.id FROM papers AS p WHERE p.id IN :ids AND {condition}").bindparams(bindparam("ids", expanding=True))
            passing = set(session.execute(statement, {"ids": [pid for pid, _ in wide], **params}).scalars()) if wide else set()
            semantic = [(pid, score) for pid, score in wide if pid in passing][:CANDIDATES]
            if len(semantic) < CANDIDATES:
                semantic = None
        if semantic is None and searched is not None and not filters.active:
            semantic = searched[:CANDIDATES]
        if semantic is None:
            allowed = set(session.execute(text(f"SELECT p.id FROM papers AS p WHERE {condition}"), params).scalars()) if filters.active else None
            semantic = index.search(vector, CANDIDATES, allowed)
        # The semantic hits keep the cosines they came with: exact below the graph threshold and
        # on pgvector; the bf16 graph's are within 0.0005 of the float16 vectors' (3% of the
        # spread of a query's top 100, at 1M), and reading those rows again cost 0.25-0.4 ms of
        # random memory reads after the wait for the graph.
        cosines.update((pid, score) for pid, score in semantic if pid not in cosines)
        return semantic, cosines

    def _rows(self, session, ids: list[int], filters: Filters) -> dict[int, tuple | None]:
        """The rows a hit is made of, for each of ``ids`` (None: hidden or filtered out)."""
        if not ids:
            return {}
        condition, params = filters.sql(dialect=session.get_bind().dialect.name)
        statement = text(
            "SELECT p.id, p.arxiv_id, p.title, p.authors, p.published_at, o.slug FROM papers AS p "
            f"LEFT JOIN organizations AS o ON o.id = p.organization_id WHERE p.id IN :ids AND {condition}"
        ).bindparams(bindparam("ids", expanding=True))
        found = {r[0]: r for r in session.execute(statement, {"ids": list(ids), **params})}
        return {pid: found.get(pid) for pid in ids}

    def _hydrate(self, session, ids: list[int], filters: Filters, scores: dict, reasons: dict, known: dict | None = None) -> list[SearchHit]:
        """The hits of ``ids``, in order; ``known``: rows already read by ``_rows``."""
        rows = dict(known or {})
        missing = [pid for pid in ids if pid not in rows]
        rows.update(self._rows(session, missing, filters))
        hits = []
        for pid in ids:
            r = rows.get(pid)
            if r is None:
                continue
            authors = json.loads(r[3]) if isinstance(r[3], str) else r[3]
            hits.append(SearchHit(pid, r[1], r[2], list(authors or []), _as_utc(r[4]), r[5], float(scores.get(pid, 0.0)), reasons.get(pid, "keyword")))
        return hits

    # -- the model and the vectors, loaded lazily -----------------------------------------------

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder is None and self.semantic_error is None:
            with self._lock:
                if self._embedder is None and self.semantic_error is None:
                    try:
                        self._embedder = query_embedder(self._embedder_spec, threads=QUERY_THREADS)
                    except EmbedderUnavailable as error:
                        self._semantic_off(error)
        return self._embedder

    def _semantic_off(self, error: EmbedderUnavailable) -> None:
        self.semantic_error, self._embedder = str(error), None
        log.warning("semantic search off, keyword only: %s", error)

    def _embed_beside(self, query: str, graph: GraphQuery | None = None):
        """Start embedding ``query`` beside the caller's work: in the query process (a
        ``PendingQuery``, which searches ``graph`` too) or on a thread (a ``Future``); the vector
        is ``_vector_of`` it."""
        embedder = self.embedder
        if isinstance(embedder, QueryProcess):
            return embedder.submit(query, graph)
        if embedder is None:  # turned off by another thread's query meanwhile
            done: Future = Future()
            done.set_result(None)
            return done
        return _EMBEDDING_POOL.submit(embedder.embed_query, query)

    def _vector_of(self, pending) -> np.ndarray | None:
        try:
            return pending.result()
        except EmbedderUnavailable as error:
            self._semantic_off(error)
        except QueryProcessError as error:  # its cause is logged once by the QueryProcess, not per query
            log.debug("query embedding failed, keyword only: %s", error)
        except Exception as error:  # noqa: BLE001 - any model failure means keyword-only, not a 500
            log.warning("query embedding failed, keyword only: %s", error)
        return None

    def _embed_query(self, query: str) -> np.ndarray | None:
        return self._vector_of(self._embed_beside(query))

    def _vector_index(self, session) -> VectorIndex | None:
        """The vectors of the current model, checked for changes every ``REFRESH_SECONDS``.

        The check (a count over every vector: 0.4-1.2 s at 1M) and a reload (seconds to minutes
        at 1M with the HNSW graph) run on a background thread once an index is large; queries
        keep the index they have meanwhile. Small indexes are checked inline (milliseconds).
        """
        embedder = self.embedder
        if embedder is None:
            return None
        now = time.monotonic()
        index = self._index
        if index is not None and now - self._checked_at < REFRESH_SECONDS:
            return index
        if index is not None and len(index) >= INLINE_REFRESH_LIMIT:
            with self._lock:
                if not self._refreshing:
                    self._refreshing, self._checked_at = True, now
                    self.refreshing = _REFRESH_POOL.submit(self._refresh_in_background, embedder)
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

    def _refresh(self, session, embedder: Embedder, wait: bool = False) -> None:
        """Reload the vectors if they changed: their count or largest id, or the generation of the
        HNSW graph on disk (another process updated it, e.g. for re-embedded papers). ``wait``: if
        another process is updating the graph, wait for it (a background check) rather than
        serve its previous generation now and look again at the next check."""
        cache = ann.cache_path(self.database.url, embedder.model_id)
        counts = session.execute(
            text("SELECT count(*), max(paper_id) FROM paper_embeddings WHERE model = :m"), {"m": embedder.model_id}
        ).one()
        signature = (*counts, ann.generation(cache))
        with self._load_lock:  # one load at a time; queries are not blocked by it once an index exists
            self._checked_at = time.monotonic()
            if self._index is not None and signature == self._index_signature:
                return
            kwargs = {} if self._ann_threshold is None else {"ann_threshold": self._ann_threshold}
            if session.get_bind().dialect.name == "postgresql":  # pgvector answers; no vectors in memory
                index = PostgresVectorIndex(self.database, embedder.model_id, embedder.dim, signature[0])
            else:
                index = VectorIndex.load(session, embedder.model_id, embedder.dim, cache, wait=wait, **kwargs)
                if index.update is not None:  # the graph may have moved on while we read
                    signature = (*counts, None if index.update.stale else index.update.generation or None)
            self._index, self._index_signature = index, signature


def _graph_query(index, filters: Filters) -> GraphQuery | None:
    """What the query process should search with the vector it makes: the graph generation this
    process serves from disk, as deep as ``_semantic`` would search it (None: exact search, a
    graph kept in memory only, or pgvector)."""
    files = getattr(index, "graph_files", None)
    if files is None:
        return None
    return GraphQuery(files[0], files[1], CANDIDATES * FILTER_OVERSAMPLE if filters.active else CANDIDATES)


def _reason(keyword_rank: int | None, semantic_rank: int | None) -> str:
    if keyword_rank and semantic_rank:
        return "hybrid"
    return "keyword" if keyword_rank else "semantic"


def _as_utc(value) -> datetime | None:
    """Raw SQL returns SQLite's naive UTC text; give callers an aware datetime like the ORM does."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
