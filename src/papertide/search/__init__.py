"""Search: papers by words, meaning, arXiv id or exact title; similar papers; keeping indexes current.

What the rest of papertide calls (nothing else of this package is meant for it)::

    search_papers(source, query, *, limit=20, published_from=None, published_until=None,
                  organization=None) -> list[SearchHit]
        The best ``limit`` papers (at most ``MAX_RESULTS``) for ``query``. ``source`` is a
        ``SearchService`` or a ``Database`` (then ``search_service(database)``). Both dates are
        inclusive days of publication; ``organization`` is an organisation slug.
    similar_papers(source, arxiv_id, *, k=6) -> list[SearchHit]
        The ``k`` papers nearest in meaning to ``arxiv_id``, never the paper itself.
    SearchHit(paper_id, arxiv_id, score, match)
        A ranked hit, best first; ``match`` says why: arxiv_id, title, hybrid, keyword,
        semantic, or similar. Hits are ids: callers read the rows they show, once.
    search_service(database) -> SearchService
        The process's service for a database (it holds the query model and the vectors).
    SearchService(database, embedder="default", options=SearchOptions())
        .search(SearchQuery | str) -> list[SearchHit]; .similar(arxiv_id, k); .warm();
        .semantic_error (why semantic search is off, else None).
    SearchQuery(text, limit=20, filters=Filters()); Filters(published_from, published_before,
        organization), Filters.for_days(published_from, published_until, organization)
        Inside search, ``published_before`` is exclusive; ``for_days`` takes an inclusive day.
    SearchOptions(candidates=100, keyword=KeywordOptions(...), semantic=SemanticOptions(...))
    warm_up(database)
        Load the model and the vectors now (a server's startup), so no reader waits for them.
    refresh_indexes(database, embedder=None, *, progress=False, limit=None,
                    rebuild_keyword_index=False) -> RefreshSummary
        What ``papertide index`` runs and the worker calls after each harvest: embeds new and
        changed papers, refreshes the keyword statistics and impact index, updates the vector
        graph. ``build_keyword_index``, ``index_embedder``, ``import_vectors`` and
        ``export_vectors`` are its parts that ``papertide index`` also offers alone.
    trace.capture() -> list[Span]
        The named steps of the searches run inside it, with their timings (benchmarks, tests).

The package: ``service.py`` conducts a search over two wings, ``keyword/`` (BM25 on FTS5 or
PostgreSQL) and ``semantic/`` (embeddings), fused by ``fusion.py``; ``filters.py`` turns filters
into one SQL condition; ``files.py`` says where the files beside a SQLite database live;
``maintenance.py`` keeps the indexes current.
"""

from papertide.search.filters import Filters
from papertide.search.keyword import KeywordOptions
from papertide.search.maintenance import (
    RefreshSummary, build_keyword_index, index_embedder, refresh_indexes,
)
from papertide.search.query import MAX_RESULTS, SearchQuery
from papertide.search.semantic.embedder import EmbedderUnavailable
from papertide.search.semantic.indexer import IndexSummary, VectorFileError, export_vectors, import_vectors
from papertide.search.semantic.retriever import SemanticOptions
from papertide.search.service import (
    SearchHit, SearchOptions, SearchService, search_papers, search_service, similar_papers, warm_up,
)

__all__ = [
    "MAX_RESULTS", "EmbedderUnavailable", "Filters", "IndexSummary", "KeywordOptions", "RefreshSummary", "SearchHit",
    "SearchOptions", "SearchQuery", "SearchService", "SemanticOptions", "VectorFileError", "build_keyword_index",
    "export_vectors", "import_vectors", "index_embedder", "refresh_indexes", "search_papers", "search_service",
    "similar_papers", "warm_up",
]
