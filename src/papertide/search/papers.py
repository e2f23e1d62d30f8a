"""Search results as the pages, the API and the feeds show them: catalog feed items, best first.

``search_service(database)`` hands out one ``SearchService`` per database and process: the service
holds the embedding model and the vector index in memory, so everything in a worker shares it.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from papertide import metrics
from papertide.catalog.queries import MAX_LIMIT, MAX_QUERY, FeedItem, items_by_ids, normalise_arxiv_id
from papertide.db import Database, get_database
from papertide.search.service import SearchService

_services: dict[str, SearchService] = {}
_services_lock = threading.Lock()


def search_service(database: Database) -> SearchService:
    """The process-wide search service for ``database``."""
    with _services_lock:
        service = _services.get(database.url)
        if service is None:
            service = _services[database.url] = SearchService(database)
        return service


def _service_of(session: Session) -> SearchService:
    return search_service(get_database(session.get_bind().url.render_as_string(hide_password=False)))


def search_papers(session: Session, q: str, *, limit: int = 20, now: datetime | None = None,
                  date_from: date | None = None, date_to: date | None = None,
                  organization: str | None = None) -> list[FeedItem]:
    """Papers for the query ``q``, best first (hybrid search; an arXiv id finds its paper).

    ``date_from`` and ``date_to`` are both inclusive days of publication.
    """
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return []
    until = date_to + timedelta(days=1) if date_to else None  # the service's date_to is exclusive
    started = time.perf_counter()
    hits = _service_of(session).search(q, limit=max(1, min(limit, MAX_LIMIT)), date_from=date_from,
                                       date_to=until, organization=organization)
    metrics.search_finished(time.perf_counter() - started)
    return items_by_ids(session, [hit.arxiv_id for hit in hits], now=now)


def similar_papers(session: Session, arxiv_id: str, *, k: int = 6, now: datetime | None = None) -> list[FeedItem]:
    """The ``k`` papers nearest in meaning to ``arxiv_id`` (never the paper itself)."""
    arxiv_id = normalise_arxiv_id(arxiv_id)
    if arxiv_id is None:
        return []
    hits = [hit.arxiv_id for hit in _service_of(session).similar(arxiv_id, k=k + 1) if hit.arxiv_id != arxiv_id]
    return items_by_ids(session, hits[:k], now=now)


def warm_up(database: Database) -> None:
    """Load the model and the vector index now, so the first reader's search is not the slow one."""
    search_service(database).warm()
