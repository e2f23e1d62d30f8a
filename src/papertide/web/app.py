"""The ASGI application factory: one FastAPI app with the pages, the actions, the API, the feeds
and the digest's pages.

Request path, outermost first (Starlette runs the middleware added last first; a test pins it):

    Observability -> PageCache -> SecurityHeaders -> Session -> routes
        |                |
        |                +- an anonymous GET of a shared page whose content version (one indexed
        |                   row, see ``catalog.versions``) has not moved is answered from memory,
        |                   without rendering; the stored answer carries the security headers it
        |                   was rendered with
        +- every request: an id (X-Request-ID), its duration, the access log line and the request
           metrics (``web.observability``), cache hits included

Workers keep no state but that cache, which is keyed on the database's content version, so any
number of them (``papertide serve --workers N``) serve the same, current site.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from papertide.catalog import versions
from papertide.config import Settings, get_settings
from papertide.db import Database, get_database
from papertide.web import (actions, api, digest, feeds, health, pages, password_reset, reader_actions, security, suggest,
                           threads, thumbnails)
from papertide.web.cache import PageCache, PageCacheMiddleware
from papertide.web.observability import ObservabilityMiddleware
from papertide.web.rendering import STATIC_DIR, render, render_string, static

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


def content_version(database: Database) -> Callable[[], int]:
    """The cache's version stamp: the catalog's content version, read fresh on every request.

    It sits on the hot path of every cached answer, so it is a raw one-row read rather than an
    ORM session, whose setup costs several times the read itself.
    """
    return versions.reader(database.engine)


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               clock: Callable[[], datetime] | None = None, page_cache: bool = True) -> FastAPI:
    """The whole site. ``settings``, ``database`` and ``clock`` default to the configured ones;
    tests pass their own (and may turn the page cache off to watch every render)."""
    settings = settings or get_settings()
    database = database or get_database(settings.database_url)
    app = FastAPI(title=settings.site_name, description="papertide: research papers, every morning.",
                  docs_url=None, redoc_url=None)  # /docs: vendored Swagger UI in api.router
    app.state.settings, app.state.database, app.state.clock = settings, database, clock

    app.mount("/static", ImmutableStaticFiles(directory=STATIC_DIR), name="static")
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        """HTML error pages for people; JSON for the API and for clients that ask for it."""
        wants_html = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")
        if not wants_html:
            return await http_exception_handler(request, error)
        titles = {404: "Page not found", 403: "Not allowed", 401: "Log in first", 405: "Not allowed"}
        return render(request, "error.html", status_code=error.status_code,
                      error_title=titles.get(error.status_code, "Something went wrong"), error_text=str(error.detail))

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception):
        """A page, not a bare "Internal Server Error"; uvicorn still logs the traceback."""
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return PlainTextResponse("Internal Server Error", status_code=500)
        page = render_string("error.html", {"request": request, "user": None, "csrf_token": "", "flashes": [],
                                            "error_title": "Something went wrong",
                                            "error_text": "The error was logged. Please try again in a moment."})
        return HTMLResponse(page, status_code=500)

    security.install(app, settings)  # signed-cookie sessions, and around them the CSP and other headers
    if page_cache:  # added last, so outermost: a hit skips the session and header layers
        app.add_middleware(PageCacheMiddleware, cache=PageCache(), version=content_version(database),
                           cacheable=is_cacheable, private_cookies=[security.SESSION_COOKIE])
    # Outermost of all: request id, duration, access log and metrics, cache hits included.
    app.add_middleware(ObservabilityMiddleware, routes=app.router.routes, log_requests=settings.access_log)
    return app


def create_served_app() -> FastAPI:
    """The app ``papertide serve`` runs (uvicorn calls this in each worker process): ``create_app``
    plus loading the search model and vectors in the background, seconds of work that would
    otherwise fall on the first reader's search."""
    from papertide.logging_setup import configure_from_settings

    configure_from_settings(get_settings())  # uvicorn's worker processes start with no logging set up
    app = create_app()
    app.state.search_warm_up.start()
    return app
