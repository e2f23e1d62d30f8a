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

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide import metrics
from papertide.catalog.paper_ids import InvalidPaperId, is_arxiv_key, parse_paper_id
from papertide.config import get_settings
from papertide.db import Database, ids_condition
from papertide.search.authors import author_papers
from papertide.search.files import SearchFiles
from papertide.search.filters import Filters, SqlFilter
from papertide.search.floor import RELATED, above_floor, semantic_floor
from papertide.search.fusion import fuse, keyword_weight
from papertide.search.keyword import KeywordOptions, KeywordRetriever
from papertide.search.keyword.terms import query_terms
from papertide.search.lexicon import CurrentLexicon
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
    spelling: bool = True  # correct unknown and rare words from the catalog's own (``lexicon.py``)


@dataclass(frozen=True)
class SearchHit:
    """One result. ``match`` says why it is here: ``arxiv_id``, ``title``, ``hybrid``, ``keyword``
    (matched words only) or ``semantic`` (similar meaning only); ``similar`` for similar papers."""

    paper_id: int
    arxiv_id: str
    score: float
    match: str


@dataclass(frozen=True)
class SearchAnswer:
    """The hits and what a results page says about them: ``showing_for``, the corrected query
    searched instead of the one typed; ``author``, the author the query named (their papers,
    ``author_hits`` of them, come first, newest first); ``related``, when there are no hits, the
    papers nearest in meaning: offered apart, never counted as results."""

    hits: list[SearchHit]
    showing_for: str | None = None
    author: str | None = None
    author_hits: int = 0
    related: list[SearchHit] = field(default_factory=list)


class SearchService:
    """Hybrid search and similar papers over one database. Thread-safe; one per database and
    process (``search_service``): it holds the query model and the vectors in memory."""

    def __init__(self, database: Database, embedder: Embedder | str | None = "default", options: SearchOptions = SearchOptions()):
        """``embedder``: a model name (loaded on first use), an embedder, or None (keywords only)."""
        self.database, self.options = database, options
        self.keyword = KeywordRetriever(SearchFiles(database.url), options.keyword)
        self.semantic = SemanticRetriever(database, embedder, options.semantic)
        self.lexicon = CurrentLexicon()

    @property
    def semantic_error(self) -> str | None:
        """Why semantic search is off (the model cannot load, or none was given), else None."""
        return self.semantic.error

    def search(self, query: SearchQuery | str) -> list[SearchHit]:
        """The best ``query.limit`` papers for ``query``. Never raises on user input."""
        return self.answer(query).hits

    def answer(self, query: SearchQuery | str) -> SearchAnswer:
        """``search`` with what a results page says beside the hits: the corrected query searched
        instead, the author named, and related papers when nothing matches."""
        query = SearchQuery(query) if isinstance(query, str) else query
        if query.empty:
            return SearchAnswer([])
        depth = self.options.candidates
        with self.database.session() as session:
            where = query.filters.sql(session.get_bind().dialect.name)
            if (arxiv_id := query.arxiv_id) is not None:  # an id means that paper; its words or meaning mean nothing
                with span("arxiv id"):
                    row = session.execute(text(f"SELECT p.id FROM papers AS p WHERE p.arxiv_id = :a AND {where.condition}"),
                                          {"a": arxiv_id, **where.params}).first()
                # A local id that names no paper may be words ("local-global attention"): search them.
                if row or is_arxiv_key(arxiv_id):
                    return SearchAnswer([SearchHit(row[0], arxiv_id, 1.0, "arxiv_id")] if row else [])
            with span("title"):
                first = _title_match(session, query.text, where)
            with span("author"):
                lexicon = self.lexicon.get(session)
                author = author_papers(session, query.text, where, lexicon)
            with span("spelling"):
                correction = lexicon.correct(query.text) if self.options.spelling and query.correct and not (first or author) else None
                words = correction.text if correction else query.text
                if correction is not None:  # the words meant may be a title
                    first = _title_match(session, words, where)
            # The query embedding (and the graph search, in the query process) runs on the second
            # core while the database searches.
            with span("begin embedding"):
                pending = self.semantic.begin(session, words, where, depth)
            with span("keyword"):
                keyword = self.keyword.search(session, words, depth, where)
            pinned = ([first] if first else []) + (author.paper_ids if author else [])
            likely = pinned + [pid for pid, _ in keyword[: query.limit + 10]]
            with span("likely hits"):  # while the query process works: after fusion only the others are read
                known = _visible(session, likely, where) if pending is not None else {}
            with span("query vector"):
                vector = self.semantic.vector_of(pending) if pending is not None else None
            with span("semantic"):
                semantic, cosines = self.semantic.candidates(session, vector, [pid for pid, _ in keyword], where, depth, pending)
            with span("fusion"):
                fused = fuse(keyword, semantic, cosines, keyword_weight(len(query_terms(words))))
            with span("floor"):
                floor = semantic_floor(getattr(self.semantic.embedder, "model_id", None))
                relevant = above_floor(session, [f for f in fused if f.paper_id not in pinned], cosines, words, lexicon,
                                       floor, query.limit + 10)
            scores = {f.paper_id: (f.score, _reason(f.keyword_rank, f.semantic_rank)) for f in fused}
            top = max((s for s, _ in scores.values()), default=0.0)
            for pid in reversed(pinned):
                top += 1.0
                scores[pid] = (top, "title" if pid == first else "author")
            ordered = list(dict.fromkeys(pinned + [f.paper_id for f in relevant]))
            with span("hits"):
                hits = self._hits(session, ordered[: query.limit + 10], where, scores, known)[: query.limit]
                related = [] if hits else self._hits(session, [f.paper_id for f in fused[: RELATED + 5]], where, scores, known)[:RELATED]
            return SearchAnswer(hits, correction.text if correction else None, author.name if author else None,
                                sum(1 for h in hits if h.match == "author"), related)

    def similar(self, arxiv_id: str, k: int = 10) -> list[SearchHit]:
        """The ``k`` papers nearest to ``arxiv_id`` in meaning (by title words if there are no
        vectors), never the paper itself. Empty when the paper is unknown."""
        try:
            key, _ = parse_paper_id(arxiv_id)
        except InvalidPaperId:
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
    among, params = ids_condition(session, ids, "p.id")
    found = dict(session.execute(text(f"SELECT p.id, p.arxiv_id FROM papers AS p WHERE {among} AND {where.condition}"),
                                 {**params, **where.params}).all())
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
    return search_answer(source, query, limit=limit, published_from=published_from, published_until=published_until,
                         organization=organization).hits


def search_answer(source: SearchService | Database, query: str, *, limit: int = 20, published_from: date | datetime | None = None,
                  published_until: date | None = None, organization: str | None = None, correct: bool = True) -> SearchAnswer:
    """``search_papers`` with what a results page shows beside the hits (``SearchAnswer``);
    ``correct=False`` searches the words as typed."""
    service = source if isinstance(source, SearchService) else search_service(source)
    started = time.perf_counter()
    answer = service.answer(SearchQuery(query, limit, Filters.for_days(published_from, published_until, organization), correct))
    metrics.search_finished(time.perf_counter() - started)
    return answer


def similar_papers(source: SearchService | Database, arxiv_id: str, *, k: int = 6) -> list[SearchHit]:
    """The ``k`` papers nearest in meaning to ``arxiv_id`` (never the paper itself)."""
    service = source if isinstance(source, SearchService) else search_service(source)
    return service.similar(arxiv_id, k=k)


def warm_up(database: Database) -> None:
    """Load the model and the vectors now, so the first reader's search is not the slow one."""
    search_service(database).warm()
