"""The ASGI application factory: one FastAPI app with the pages, the actions, the API, the feeds
and the digest's pages.

Request path, outermost first (Starlette runs the middleware added last first; a test pins it):

    Observability -> ReadOnlyCORS -> HeadAsGet -> PageCache -> Validators -> SecurityHeaders -> Session
        -> ReaderPages -> routes

* Observability (``observability``): every request gets an id (X-Request-ID), its duration, the
  access log line and the request metrics, cache hits included;
* ReadOnlyCORS (``cors``): CORS headers for the read-only API and feeds, on cached answers too;
* HeadAsGet (``head``): HEAD is routed as GET and answered without the body;
* PageCache (``cache``): an anonymous GET of a shared page whose content version (one indexed row,
  see ``catalog.versions``; on PostgreSQL kept in memory by ``catalog.version_listener``) has not
  moved is answered from memory, without rendering; the stored answer already carries the
  validators and security headers it was rendered with;
* Validators (``http_cache``): ETag, Last-Modified, Cache-Control, and 304 for conditional GETs;
* ReaderPages (``reader_pages``): a signed-in reader's daily, paper, trending or search page, filled with their
  votes, name and CSRF token from the page rendered once for all readers at this content version.

Workers keep no state but that cache, which is keyed on the database's content version, so any
number of them (``papertide serve --workers N``) serve the same, current site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Match, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from papertide.catalog import versions
from papertide.catalog.version_listener import ListeningReader
from papertide.config import Settings, get_settings
from papertide.db import Database, get_database, is_postgres
from papertide.web import (actions, api, digest, errors, feeds, health, pages, password_reset, reader_actions, security,
                           suggest, threads, thumbnails)
from papertide.web.api.schema import build_openapi
from papertide.web.cache import PageCache, PageCacheMiddleware
from papertide.web.cors import ReadOnlyCORSMiddleware
from papertide.web.head import HeadAsGetMiddleware
from papertide.web.http_cache import ValidatorsMiddleware
from papertide.web.observability import ObservabilityMiddleware
from papertide.web.reader_pages import ReaderPages, ReaderPagesMiddleware
from papertide.web.rendering import STATIC_DIR, static

# Answers that are the same for every anonymous reader (by path prefix): pages, the JSON API and
# feeds. Forms, the admin view and anything personal are never cached.
CACHEABLE_PREFIXES = ("/papers/", "/orgs", "/authors/", "/search", "/trending", "/api/", "/feeds/")


def is_cacheable(path: str) -> bool:
    return path == "/" or path.startswith(CACHEABLE_PREFIXES)


class ImmutableStaticFiles(StaticFiles):
    """Static files under content-hashed URLs (``?v=<hash>``, see ``rendering.static``): cache forever."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


def trailing_slash_redirect(router: Router) -> ASGIApp:
    """What answers a path no route matches: ``/search/`` is sent to ``/search`` by a relative
    ``Location`` (Starlette's own redirect builds an absolute one from the ``Host`` header the
    client sent), anything else is the 404 page."""

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        stripped = path.rstrip("/")
        if scope["type"] == "http" and stripped and stripped != path and not stripped.startswith("//"):
            if any(route.matches({**scope, "path": stripped})[0] is not Match.NONE for route in router.routes):
                raw = scope.get("raw_path")  # as sent, still percent-encoded
                target = raw.decode("latin-1").rstrip("/") if raw else quote(stripped)
                query = scope.get("query_string", b"").decode("latin-1")
                target += f"?{query}" if query else ""
                await RedirectResponse(target, status_code=308)(scope, receive, send)
                return
        await router.not_found(scope, receive, send)

    return answer


def content_version(database: Database, settings: Settings) -> Callable[[], int]:
    """The cache's version stamp: the catalog's content version, current on every request.

    It sits on the hot path of every cached answer. On PostgreSQL (unless ``listen_versions`` is
    off) it is a ``ListeningReader``: memory kept current by LISTEN/NOTIFY, started and stopped
    with the app (``lifespan``), reading the database whenever it is not listening. Otherwise a
    raw one-row read rather than an ORM session, whose setup costs several times the read itself.
    """
    if settings.listen_versions and is_postgres(database.engine):
        return ListeningReader(database.engine)
    return versions.reader(database.engine)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """What runs for as long as the app serves: the content version's listener, if it has one."""
    version = getattr(app.state, "content_version", None)
    if isinstance(version, ListeningReader):
        version.start()
    try:
        yield
    finally:
        if isinstance(version, ListeningReader):
            version.stop()


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               clock: Callable[[], datetime] | None = None, page_cache: bool = True) -> FastAPI:
    """The whole site. ``settings``, ``database`` and ``clock`` default to the configured ones;
    tests pass their own (and may turn the page cache off to watch every render)."""
    settings = settings or get_settings()
    database = database or get_database(settings.database_url)
    app = FastAPI(title=settings.site_name, description="papertide: research papers, every morning.",
                  docs_url=None, redoc_url=None,  # /docs: vendored Swagger UI in api.router
                  redirect_slashes=False,  # Starlette's copies the Host header into Location: ours below
                  lifespan=lifespan)
    app.state.settings, app.state.database, app.state.clock = settings, database, clock

    app.mount("/static", ImmutableStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.markdown_router)  # /papers/{id}.md, before the pages' /papers/{id}
    app.include_router(pages.router)
    app.include_router(actions.router)  # POSTs: sign up, log in/out, vote, submit, moderate
    app.include_router(threads.router)  # comments: post, reply, edit, delete
    app.include_router(password_reset.router)  # forgotten passwords: a single-use link by email
    app.include_router(reader_actions.router)  # POSTs: follow, collections
    app.include_router(thumbnails.router)  # first-page thumbnails, from their folder
    app.include_router(api.router)  # the Hugging Face-compatible JSON API under /api
    app.include_router(feeds.router)  # RSS / Atom under /feeds
    app.include_router(digest.router)  # email digests: subscribe, confirm, preferences, unsubscribe, preview
    app.include_router(suggest.router)  # names to pick from as you type (organisations, authors)
    app.router.default = trailing_slash_redirect(app.router)

    health.install(app, database)  # /readyz and /metrics

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:  # browsers ask for it whatever the <link> says
        return RedirectResponse(static("img/favicon.svg"), status_code=301)

    @app.get("/robots.txt", include_in_schema=False, response_class=PlainTextResponse)
    def robots() -> str:
        return "User-agent: *\nDisallow: /admin\nDisallow: /api/\n"

    app.openapi = lambda: build_openapi(app)
    errors.install(app)
    if page_cache:  # signed-in readers' pages, shared at the content version (inside the session layer)
        app.state.content_version = content_version(database, settings)
        app.state.reader_pages = ReaderPages()
        app.add_middleware(ReaderPagesMiddleware, pages=app.state.reader_pages, version=app.state.content_version,
                           reads_wait=is_postgres(database.engine))
    security.install(app, settings)  # signed-cookie sessions, and around them the CSP and other headers
    app.add_middleware(ValidatorsMiddleware, shared=is_cacheable, private_cookies=(security.SESSION_COOKIE,))
    if page_cache:  # a hit skips the validators, session and header layers: it keeps what they added
        app.add_middleware(PageCacheMiddleware, cache=PageCache(), version=app.state.content_version,
                           cacheable=is_cacheable, private_cookies=[security.SESSION_COOKIE])
    app.add_middleware(HeadAsGetMiddleware)  # HEAD wherever GET, from the cache too
    app.add_middleware(ReadOnlyCORSMiddleware, origins=settings.cors_origin_list)  # cached answers too
    # Outermost of all: request id, duration, access log and metrics, cache hits included.
    app.add_middleware(ObservabilityMiddleware, routes=app.router.routes, log_requests=settings.access_log)
    return app


def create_served_app() -> FastAPI:
    """The app ``papertide serve`` runs (uvicorn calls this in each worker process): ``create_app``
    plus warming search up in the background (the model, the vectors, the search pages: seconds of
    work that would otherwise fall on the first reader's search), and with several workers the
    marks by which each one's ``/readyz`` answers for all (``warm_workers``)."""
    from papertide.logging_setup import configure_from_settings
    from papertide.warm_workers import WorkerMarks

    configure_from_settings(get_settings())  # uvicorn's worker processes start with no logging set up
    app = create_app()
    app.state.search_warm_up.marks = WorkerMarks.from_environment()
    app.state.search_warm_up.start()
    return app
