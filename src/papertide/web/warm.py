"""A worker's search pages, warmed before ``/readyz`` says ready.

``search.warm_up`` loads what the search service needs: the query model, the vectors, the keyword
side's statistics. A reader's first search page costs more than its search: the first render
compiles the page's templates and the paper card's, the first read of result cards prepares
SQLAlchemy's statements, the organisation menu is counted once per worker; the API's search has
its own first time. Left to the first reader, that was about 150 of the 210 ms of a first search
page served in-process, and over HTTP a first search of 381 ms (p50 of 5 starts) where the next
ones took 60 (``benchmarks/first_search.py``; docs/performance.md).

So the warm-up asks this app's own routes for a search page and an API search, as a reader's
browser or script would, in-process and below the middleware: no access log line, no request or
search metric, no page put in the cache. Whatever those pages come to need is warmed with them,
with no list of pieces to keep in step. The query is the newest visible paper's title, so the
pages have results to render (cards included) on any catalog.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from papertide import feed, metrics
from papertide.db import Database

PAGES = ("/search", "/api/papers/search")
EMPTY_CATALOG_QUERY = "warm up"  # nothing to find, but the pages render all the same


class WarmUpFailed(RuntimeError):
    """A page of the warm-up did not answer 200: a reader's would not either."""


def warm_search_pages(app: FastAPI, database: Database) -> None:
    """Ask ``app`` for each of ``PAGES`` with a query that finds papers (see the module doc)."""
    query = urlencode({"q": warm_up_query(database)})
    with metrics.searches_unrecorded():  # no reader asked for these
        for path in PAGES:
            # An event loop of its own: this runs on the warm-up's thread, beside the server's loop.
            status = asyncio.run(_get(app, path, query))
            if status != 200:
                raise WarmUpFailed(f"GET {path} answered {status}")


def warm_up_query(database: Database) -> str:
    """The newest visible paper's title (at most 200 characters: a query, not an abstract)."""
    with database.session() as session:
        title = feed.newest_title(session)
    return (title or EMPTY_CATALOG_QUERY)[:200]


async def _get(app: FastAPI, path: str, query: str) -> int:
    """The status of an anonymous GET of ``path?query`` answered by ``app``'s routes. Below the
    middleware (the routes and the exit stack FastAPI keeps for their dependencies): the session
    layer is absent too, and an anonymous page needs none."""
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "headers": [(b"host", b"warm-up.invalid")],
             "client": None, "server": None, "app": app}
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await AsyncExitStackMiddleware(app.router)(scope, receive, send)
    return status
