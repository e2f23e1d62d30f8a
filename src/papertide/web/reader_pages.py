"""Signed-in readers' pages: rendered once for all of them, then filled per reader.

The page cache (``web.cache``) serves anonymous readers; a signed-in reader's page used to be
rendered for each request (the daily list: tens of milliseconds). The daily list, paper pages,
trending and search opt in here. Yet two readers' daily pages
differ only in a few values: their name, their CSRF token, which papers they upvoted, and on a
paper page their collections. So a page that opts in (``respond``) is rendered once per content
version for a *stand-in* reader whose values are slots (``web.slots``), kept per worker, and
each request fills the slots from a few rows: the reader's session, their votes among the papers
shown, their collections. A vote, comment or collection change bumps the content version or is
read fresh, so the reader sees their own change on the next page, and others see it as soon as
they would on an anonymous page (``web.cache`` says how soon on each backend).

Some pages are rendered in full, as before: for moderators (they see hidden papers and
moderation controls), for a reader with messages to show (flashes), and on a paper page for the
readers who wrote one of its comments (theirs carry edit and delete links). One reader's values
never reach another's page: the shared page holds only the stand-in's slots, and the fill reads
the requesting reader's own rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from papertide.community import collections, votes
from papertide.web import deps
from papertide.web.cache import VersionedLRU
from papertide.web.rendering import page_context, render_string
from papertide.web.security import csrf_token
from papertide.web.session import session_account
from papertide.web.slots import PendingSet, Recorder, ReaderValues, SharedPage

NO_ACCOUNT = -1  # the stand-in's id: no account has it, so no comment is the stand-in's own


class StandInReader:
    """The reader a shared page is rendered for: signed in, not a moderator, with a name that is a
    slot. ``personal_for`` collects the readers whose page this cannot be (a page says who)."""

    id = NO_ACCOUNT
    is_admin = False
    is_blocked = False

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.username = self.recorder.text("username")
        self.personal_for: set[int] = set()


@dataclass(frozen=True)
class ReaderPage:
    page: SharedPage
    media_type: str
    personal_for: frozenset[int]

    @property
    def size(self) -> int:
        """Characters of text kept (what the store's budget counts)."""
        return sum(map(len, self.page.parts))


class ReaderPages(VersionedLRU):
    """The shared pages of one worker, by path and query, each valid for one content version and
    at most ``ttl`` seconds (what changes with the clock alone: trending, "today")."""

    def __init__(self, *, max_entries: int = 512, max_bytes: int = 32 * 1024 * 1024, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(max_entries=max_entries, max_bytes=max_bytes, ttl=ttl, clock=clock)

    def get(self, key: Hashable, version: Hashable) -> ReaderPage | None:
        return super().get(key, version)

    def put(self, key: Hashable, version: Hashable, page: ReaderPage) -> None:
        self.store(key, version, page, page.size)


# ---------------------------------------------------------------------------------------------
# What a page's handler asks, for a real reader or for the stand-in


def voted_ids(session, user, paper_ids: Iterable[int]) -> set[int] | PendingSet:
    """The papers among ``paper_ids`` that the reader upvoted (``holds`` in the templates)."""
    if isinstance(user, StandInReader):
        return user.recorder.pending("voted")
    return votes.voted_papers(session, user.id, list(paper_ids)) if user else set()


def collection_menu(session, user, paper) -> list | Markup:
    """The reader's collections for a paper page's Save menu, or the stand-in's slot for them."""
    if isinstance(user, StandInReader):
        return user.recorder.fragment("collect_menu", (paper.id, paper.arxiv_id))
    return collections.menu(session, user.id, paper.id) if user else []


def personal_for(user, account_ids: Iterable[int]) -> None:
    """Readers for whom the shared page would be wrong (the authors of its comments)."""
    if isinstance(user, StandInReader):
        user.personal_for.update(account_ids)


# ---------------------------------------------------------------------------------------------
# Serving: the handler renders and stores the shared page; the middleware answers from it


def page_key(scope: Scope) -> tuple[str, bytes]:
    return scope["path"], scope["query_string"]


def respond(request: Request, build: Callable[[dict], Response]) -> Response:
    """The page ``build`` renders from a page context: filled from the shared page when the
    reader may have it (rendering and storing that first if needed), else rendered for them."""
    context = page_context(request)
    pages: ReaderPages | None = getattr(request.app.state, "reader_pages", None)
    user = context["user"]
    if pages is None or user is None or user.is_admin or context["flashes"]:
        return build(context)
    key, version = page_key(request.scope), request.app.state.content_version()
    entry = pages.get(key, version)
    if entry is None:
        entry = _render_shared(request, build)
        if entry is None:  # an error page, a redirect: nothing to share
            return build(context)
        pages.put(key, version, entry)
    if user.id in entry.personal_for:
        return build(context)
    with deps.database(request).reading() as connection:
        html = entry.page.fill(reader_values(connection, user, str(context["csrf_token"]), entry.page))
    return HTMLResponse(html, media_type=entry.media_type)


class ReaderPagesMiddleware:
    """Answers a signed-in reader's GET from its shared page, if one is stored at the current
    content version, before routing: the reader's session and their votes in one database
    connection, then the fill. Anything else (no stored page, a moderator, a reader with messages
    to show, an API token) goes on to the routes, where ``respond`` decides as before.

    It sits inside the session layer (it reads the decoded session) and outside the routes. With
    ``reads_wait`` (a database across a network) the reads go to the thread pool, so that the
    event loop serves other requests while they wait; a local SQLite file is read in place."""

    def __init__(self, app: ASGIApp, *, pages: ReaderPages, version: Callable[[], Hashable], reads_wait: bool = False):
        self.app, self.pages, self.version, self.reads_wait = app, pages, version, reads_wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session") if scope["type"] == "http" and scope["method"] == "GET" else None
        if not session or "uid" not in session or "flash" in session or _has_authorization(scope):
            await self.app(scope, receive, send)
            return
        key = page_key(scope)
        entry = self.pages.get(key, self.version()) if key in self.pages else None  # no version read for other pages
        html = None
        if entry is not None:
            request = Request(scope, receive)
            html = await run_in_threadpool(_fill_for, request, entry) if self.reads_wait else _fill_for(request, entry)
        if html is None:
            await self.app(scope, receive, send)
            return
        await HTMLResponse(html, media_type=entry.media_type)(scope, receive, send)


def _has_authorization(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"])


def _fill_for(request: Request, entry: ReaderPage) -> str | None:
    """The shared page filled for the request's reader, or None if it is not theirs to have."""
    with deps.database(request).reading() as connection:
        user = session_account(request, connection)
        if user is None or user.is_admin or user.id in entry.personal_for:
            return None
        return entry.page.fill(reader_values(connection, user, str(csrf_token(request)), entry.page))


def _render_shared(request: Request, build: Callable[[dict], Response]) -> ReaderPage | None:
    stand_in = StandInReader()
    context = {"request": request, "user": stand_in, "csrf_token": stand_in.recorder.text("csrf"), "flashes": []}
    response = build(context)
    if response.status_code != 200 or not isinstance(response, HTMLResponse):
        return None
    page = stand_in.recorder.cut(response.body.decode())
    return ReaderPage(page, response.media_type or "text/html", frozenset(stand_in.personal_for))


def reader_values(session: Session | Connection, user, csrf: str, page: SharedPage) -> ReaderValues:
    """The reader's values for the slots of ``page``, read through ``session`` (a connection on
    the fast path): a query per kind of slot."""
    fragments = {}
    voted = votes.voted_papers(session, user.id, page.keys("choice", "voted"))
    for paper_id, arxiv_id in page.keys("fragment", "collect_menu"):
        menu = collections.menu(session, user.id, paper_id)
        fragments[("collect_menu", (paper_id, arxiv_id))] = render_string(
            "partials/collect_menu.html", {"paper": _MenuPaper(paper_id, arxiv_id), "menu": menu, "csrf_token": csrf})
    return ReaderValues({"username": user.username, "csrf": csrf}, {"voted": voted}, fragments)


@dataclass(frozen=True)
class _MenuPaper:
    """What the collections menu shows of a paper."""

    id: int
    arxiv_id: str
