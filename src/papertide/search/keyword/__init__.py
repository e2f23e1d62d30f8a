"""The keyword side: BM25 over the catalog's text, on whichever path answers best for its size.

``KeywordRetriever.search`` sends a query's words and adjacent pairs (``terms.py``) down one path:

- PostgreSQL: BM25 over the weighted tsvector (``postgres.py``);
- SQLite below ``exact_below_papers``: FTS5's own exact BM25 (``fts5_budget.exact_bm25``), cheap
  at that size, as vector search is exact there too;
- SQLite above it: the impact index beside the database (``impact.py``), else FTS5 within a
  postings budget (``fts5_budget.budget_bm25``) while that file is missing or cannot answer.

User text never becomes query syntax on any path: words are ``\\w+`` runs, quoted (FTS5) or
bound as parameters (PostgreSQL), so no input can raise a syntax error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from papertide.search.files import SearchFiles
from papertide.search.filters import SqlFilter
from papertide.search.keyword.fts5 import Fts5Query, TermStatistics, read_corpus
from papertide.search.keyword.fts5_budget import budget_bm25, exact_bm25
from papertide.search.keyword.impact import CurrentImpactIndex
from papertide.search.keyword.postgres import postgres_bm25
from papertide.search.keyword.terms import query_bigrams, query_phrases, query_terms


@dataclass(frozen=True)
class KeywordOptions:
    """How the SQLite keyword side may answer (benchmarks compare the paths; tests force one)."""

    impact_index: bool = True  # answer from the impact index file when it is usable
    build_impact_index: bool = True  # build it in the background when it is missing or stale
    exact_below_papers: int = 100_000  # below this many papers every query is exact FTS5 BM25


class KeywordRetriever:
    """The keyword side of one database. Thread-safe; holds what its queries share (the FTS5
    term statistics, the mapped impact index), so create one per database and process."""

    def __init__(self, files: SearchFiles, options: KeywordOptions = KeywordOptions()):
        self.options = options
        path = files.impact_index if options.impact_index else None
        self._impact = CurrentImpactIndex(path, files.database_file, build_missing=options.build_impact_index) if path else None
        self._stats: TermStatistics | None = None
        self._stats_lock = threading.Lock()

    def search(self, session: Session, query: str, limit: int, where: SqlFilter = SqlFilter()) -> list[tuple[int, float]]:
        """(paper id, BM25 score; higher is better) of the ``limit`` best keyword matches that pass ``where``."""
        if session.get_bind().dialect.name == "postgresql":  # the weighted tsvector of migration 0003
            terms = query_terms(query)
            return postgres_bm25(session, terms, query_bigrams(query), where, limit) if terms else []
        phrases = query_phrases(query)
        if not phrases:
            return []
        corpus = read_corpus(session)
        if corpus.documents < self.options.exact_below_papers:
            return exact_bm25(session, phrases, where, limit)
        stats = self._statistics(session, corpus)
        fts5_query = Fts5Query([stats.phrase(p) for p in phrases], stats, corpus)
        found = self._impact.search(session, fts5_query, where, limit) if self._impact is not None else None
        return found if found is not None else budget_bm25(session, fts5_query, where, limit)

    def _statistics(self, session: Session, corpus) -> TermStatistics:
        with self._stats_lock:
            if self._stats is None:
                self._stats = TermStatistics.read(session, corpus)
                return self._stats
        self._stats.refresh(session, corpus)
        return self._stats
