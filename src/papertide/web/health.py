"""``/readyz`` and ``/metrics``: what a load balancer and Prometheus ask a worker.

``/healthz`` (in app.py) says the process answers. ``/readyz`` says it can serve: the database
answers a query, its schema is the one this code expects (Alembic's head), and search is warmed
up (model and vector index loaded, then a search page and an API search rendered by the worker
itself, ``warm.py``: the first reader's search is not the slow one). Until all three hold it
answers 503 with the failing check named, so a proxy keeps traffic away from a worker that would
fail or crawl. A worker of several (``papertide serve --workers N``) answers for them all: its
search is "ok" once every worker is warm (``warm_workers``), since a probe reaches any one of them
and a proxy then sends readers to all. ``/metrics`` is for loopback or a bearer token only: it
tells an outsider how busy the site is and what it runs.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import func, select, text

from papertide import metrics
from papertide.db import Database
from papertide.schema_status import missing_sqlite_file, schema_state
from papertide.search import search_service, warm_up
from papertide.warm_workers import WorkerMarks
from papertide.web import deps, warm

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


class SearchWarmUp:
    """Loads the search model and index once, in the background, then runs ``pages`` (the search
    pages, rendered in-process), and says how far it got; with ``marks``, how far this server's
    other workers got too."""

    def __init__(self, database: Database, pages: Callable[[], None] = lambda: None, marks: WorkerMarks | None = None):
        self.database, self.pages, self.marks = database, pages, marks
        self.state = "not started"  # -> "warming up" -> "ready" | "failed: ..."
        self.finished = threading.Event()  # set when it ended, ready or failed (for whoever must wait)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.state != "not started":
                return
            self.state = "warming up"
        threading.Thread(target=self._run, name="search-warm-up", daemon=True).start()

    def _run(self) -> None:
        try:
            warm_up(self.database)
            self.pages()
            semantic_error = search_service(self.database).semantic_error
            # Keyword-only because the model could not load is not ready: search would answer, worse.
            self.state = "ready" if semantic_error is None else f"failed: {semantic_error}"
            if self.state == "ready" and self.marks is not None:
                self.marks.mark()
        except Exception as error:  # noqa: BLE001 - reported by /readyz, and logged
            log.exception("search warm-up failed")
            self.state = f"failed: {error}"
        finally:
            self.finished.set()

    def check(self) -> str:
        self.start()  # an app that nobody warmed up (a plain create_app) warms up when first asked
        if self.state != "ready":
            return self.state
        waiting = self.marks.waiting() if self.marks is not None else 0
        return f"warming up: {self.marks.workers - waiting} of {self.marks.workers} workers warm" if waiting else "ok"


def install(app: FastAPI, database: Database) -> None:
    app.state.search_warm_up = SearchWarmUp(database, pages=lambda: warm.warm_search_pages(app, database))
    app.include_router(router)


def readiness(database: Database, warm_up: SearchWarmUp) -> dict[str, str]:
    """Each check's verdict: "ok", or what is wrong."""
    checks = {"database": "ok", "migrations": "ok", "search": warm_up.check()}
    missing = missing_sqlite_file(database.url)  # before connecting: that would create an empty file
    if missing is not None:
        checks["database"] = checks["migrations"] = f"no database file at {missing}"
        return checks
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
            try:
                checks["migrations"] = schema_state(connection).problem() or "ok"
            except Exception as error:  # noqa: BLE001
                checks["migrations"] = f"cannot read the schema revision: {_first_line(error)}"
    except Exception as error:  # noqa: BLE001 - unreachable, refused, unreadable: that is the answer
        checks["database"] = f"unreachable: {_first_line(error)}"
        checks["migrations"] = "unknown: the database is unreachable"
    return checks


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    checks = readiness(deps.database(request), request.app.state.search_warm_up)
    ready = all(verdict == "ok" for verdict in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503, headers={"cache-control": "no-store"})


@router.get("/metrics")
def metrics_text(request: Request) -> Response:
    if not _may_scrape(request):
        return PlainTextResponse("/metrics answers loopback clients, or with the configured bearer token\n",
                                 status_code=403)
    body, content_type = metrics.exposition([OutboxDepth(deps.database(request))])
    return Response(body, media_type=content_type, headers={"cache-control": "no-store"})


def _may_scrape(request: Request) -> bool:
    token = deps.settings(request).metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    host = request.client.host if request.client else ""
    try:  # behind the proxy this is the client's address (uvicorn believes the proxy's headers only)
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OutboxDepth:
    """``papertide_digest_outbox_depth``: digests waiting (pending) or in flight (sending), read
    from the database at scrape time, so it is right whichever process queued or sends them."""

    STATUSES = ("pending", "sending")

    def __init__(self, database: Database):
        self.database = database

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from papertide.digest.models import DigestOutbox

        gauge = GaugeMetricFamily("papertide_digest_outbox_depth", "Digest emails waiting to be sent, by status.",
                                  labels=["status"])
        try:
            with self.database.session() as session:
                counts = dict(session.execute(select(DigestOutbox.status, func.count())
                                              .where(DigestOutbox.status.in_(self.STATUSES))
                                              .group_by(DigestOutbox.status)).all())
        except Exception as error:  # noqa: BLE001 - the other metrics are still worth a scrape
            log.warning("outbox depth not read: %s", _first_line(error))
            return
        for status in self.STATUSES:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
