"""``SearchService``: the conductor of one search, over the keyword and the semantic wings.

One query goes through, in order:

1. nothing to search for (blank, or no word at all): no results;
2. an arXiv id or URL: that paper, straight away (or nothing if it is not in the catalog);
3. an exact title (case-insensitive): that paper first, then the rest;
4. hybrid: the keyword side's best candidates and the semantic side's, fused (``fusion.py``).

The query is embedded while the keyword side runs (``semantic.retriever``). Filters apply on every
path; hidden papers are never returned. The answer is ranked ids with scores and why each is
there: callers read the rows they show, once. Each step runs in a ``trace.span``, so benchmarks
and tests see what a search did without reaching inside.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from papertide import metrics
from papertide.catalog.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.config import get_settings
from papertide.db import Database
from papertide.search.files import SearchFiles
from papertide.search.filters import Filters, SqlFilter
from papertide.search.fusion import fuse
from papertide.search.keyword import KeywordOptions, KeywordRetriever
from papertide.search.query import SearchQuery
from papertide.search.semantic.embedder import Embedder
from papertide.search.semantic.retriever import SemanticOptions, SemanticRetriever
from papertide.search.trace import span


@dataclass(frozen=True)
class SearchOptions:
    """How a service searches; the defaults are production's (tests and benchmarks vary them)."""

    candidates: int = 100  # taken from each side before fusion
    keyword: KeywordOptions = field(default_factory=KeywordOptions)
    semantic: SemanticOptions = field(default_factory=SemanticOptions)


@dataclass(frozen=True)
class SearchHit:
    """One result. ``match`` says why it is here: ``arxiv_id``, ``title``, ``hybrid``, ``keyword``
    (matched words only) or ``semantic`` (similar meaning only); ``similar`` for similar papers."""

    paper_id: int
    arxiv_id: str
    score: float
    match: str


class SearchService:
    """Hybrid search and similar papers over one database. Thread-safe; one per database and
    process (``search_service``): it holds the query model and the vectors in memory."""

    def __init__(self, database: Database, embedder: Embedder | str | None = "default", options: SearchOptions = SearchOptions()):
        """``embedder``: a model name (loaded on first use), an embedder, or None (keywords only)."""
        self.database, self.options = database, options
        self.keyword = KeywordRetriever(SearchFiles(database.url), options.keyword)
        self.semantic = SemanticRetriever(database, embedder, options.semantic)

    @property
    def semantic_error(self) -> str | None:
        """Why semantic search is off (the model cannot load, or none was given), else None."""
        return self.semantic.error

    def search(self, query: SearchQuery | str) -> list[SearchHit]:
        """The best ``query.limit`` papers for ``query``. Never raises on user input."""
        query = SearchQuery(query) if isinstance(query, str) else query
        if query.empty:
            return []
        depth = self.options.candidates
        with self.database.session() as session:
            where = query.filters.sql(session.get_bind().dialect.name)
            if (arxiv_id := query.arxiv_id) is not None:  # an id means that paper; its words or meaning mean nothing
                with span("arxiv id"):
                    row = session.execute(text(f"SELECT p.id FROM papers AS p WHERE p.arxiv_id = :a AND {where.condition}"),
                                          {"a": arxiv_id, **where.params}).first()
                return [SearchHit(row[0], arxiv_id, 1.0, "arxiv_id")] if row else []
            # The query embedding (and the graph search, in the query process) runs on the second
            # core while the database searches.
            with span("begin embedding"):
                pending = self.semantic.begin(session, query.text, where, depth)
            with span("title"):
                first = _title_match(session, query.text, where)
            with span("keyword"):
                keyword = self.keyword.search(session, query.text, depth, where)
            likely = ([first] if first else []) + [pid for pid, _ in keyword[: query.limit + 10]]
            with span("likely hits"):  # while the query process works: after fusion only the others are read
                known = _visible(session, likely, where) if pending is not None else {}
            with span("query vector"):
                vector = self.semantic.vector_of(pending) if pending is not None else None
            with span("semantic"):
                semantic, cosines = self.semantic.candidates(session, vector, [pid for pid, _ in keyword], where, depth, pending)
            with span("fusion"):
                fused = fuse(keyword, semantic, cosines, limit=query.limit + 11)  # (+1: ``first`` may be among them)
            ordered = ([first] if first else []) + [f.paper_id for f in fused if f.paper_id != first]
            scores = {f.paper_id: (f.score, _reason(f.keyword_rank, f.semantic_rank)) for f in fused}
            if first:
                scores[first] = (max((s for s, _ in scores.values()), default=0.0) + 1.0, "title")
            with span("hits"):
                return self._hits(session, ordered[: query.limit + 10], where, scores, known)[: query.limit]

    def similar(self, arxiv_id: str, k: int = 10) -> list[SearchHit]:
        """The ``k`` papers nearest to ``arxiv_id`` in meaning (by title words if there are no
        vectors), never the paper itself. Empty when the paper is unknown."""
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
            neighbours = self.semantic.neighbours(session, paper_id, f"{title}. {abstract}", k + 11)
            if neighbours is None:
                neighbours = self.keyword.search(session, title, k + 11)
            scores = {pid: (score, "similar") for pid, score in neighbours if pid != paper_id}
            return self._hits(session, list(scores), SqlFilter(), scores)[:k]

    def warm(self) -> None:
        """Load now what the first query would wait for: the model (and its query path), the
        vectors (a large HNSW graph takes seconds to load, much longer to build once) and the
        keyword side's word statistics. For a server's startup: a query runs through every step."""
        self.search(SearchQuery("warm up", limit=1))

    def _hits(self, session: Session, ids: list[int], where: SqlFilter, scores: dict[int, tuple[float, str]],
              known: dict[int, str | None] | None = None) -> list[SearchHit]:
        """The hits of ``ids`` that are visible and pass ``where``, in order; ``known``: already checked."""
        arxiv_ids = dict(known or {})
        arxiv_ids.update(_visible(session, [pid for pid in ids if pid not in arxiv_ids], where))
        return [SearchHit(pid, arxiv_ids[pid], *scores[pid]) for pid in ids if arxiv_ids.get(pid)]


def _title_match(session: Session, query: str, where: SqlFilter) -> int | None:
    """The paper whose title is ``query`` (case-insensitive, a final full stop optional)."""
    statement = text(f"SELECT p.id FROM papers AS p WHERE lower(p.title) = lower(:q) AND {where.condition} ORDER BY p.id LIMIT 1")
    row = session.execute(statement, {"q": query.rstrip(". "), **where.params}).first()
    if row is None and query.endswith("."):
        row = session.execute(statement, {"q": query, **where.params}).first()
    return row[0] if row else None


def _visible(session: Session, ids: list[int], where: SqlFilter) -> dict[int, str | None]:
    """The arXiv id of each of ``ids`` that is visible and passes ``where`` (None for the others)."""
    if not ids:
        return {}
    statement = text(f"SELECT p.id, p.arxiv_id FROM papers AS p WHERE p.id IN :ids AND {where.condition}").bindparams(
        bindparam("ids", expanding=True))
    found = dict(session.execute(statement, {"ids": list(ids), **where.params}).all())
    return {pid: found.get(pid) for pid in ids}


def _reason(keyword_rank: int | None, semantic_rank: int | None) -> str:
    if keyword_rank and semantic_rank:
        return "hybrid"
    return "keyword" if keyword_rank else "semantic"


# -- the process's services, and what callers use -----------------------------------------------

_services: dict[str, SearchService] = {}
_services_lock = threading.Lock()


def search_service(database: Database) -> SearchService:
    """The process's search service for ``database`` (made on first use, with the configured model)."""
    with _services_lock:
        service = _services.get(database.url)
        if service is None:
            service = _services[database.url] = SearchService(database, get_settings().embedder)
        return service


def search_papers(source: SearchService | Database, query: str, *, limit: int = 20, published_from: date | datetime | None = None,
                  published_until: date | None = None, organization: str | None = None) -> list[SearchHit]:
    """The best ``limit`` papers for ``query``: the edge's call. ``published_from`` and
    ``published_until`` are inclusive days of publication; ``source`` a service or a database
    (then its process-wide service)."""
    service = source if isinstance(source, SearchService) else search_service(source)
    started = time.perf_counter()
    hits = service.search(SearchQuery(query, limit, Filters.for_days(published_from, published_until, organization)))
    metrics.search_finished(time.perf_counter() - started)
    return hits


def similar_papers(source: SearchService | Database, arxiv_id: str, *, k: int = 6) -> list[SearchHit]:
    """The ``k`` papers nearest in meaning to ``arxiv_id`` (never the paper itself)."""
    service = source if isinstance(source, SearchService) else search_service(source)
    return service.similar(arxiv_id, k=k)


def warm_up(database: Database) -> None:
    """Load the model and the vectors now, so the first reader's search is not the slow one."""
    search_service(database).warm()
