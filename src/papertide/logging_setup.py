"""Logging, configured once per process: readable lines for people, JSON lines for collectors.

Diagnostics go to stderr; the access log (``papertide.access``, one line per web request) goes to
stdout, as uvicorn's did, so whoever reads one stream is not flooded by the other.

``PAPERTIDE_LOG_FORMAT=json`` writes one JSON object per line (what Loki, Elasticsearch or
journald's JSON readers ingest without parsing rules); ``PAPERTIDE_LOG_LEVEL`` sets the level.
Every record carries the id of the web request it belongs to (``request_id``), so one request's
lines can be found among many workers'. uvicorn's own loggers write through the same handler.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar

from pythonjsonlogger.orjson import OrjsonFormatter

# The current web request's id (set by web.observability), read by every log record made meanwhile.
request_id: ContextVar[str | None] = ContextVar("papertide_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
ACCESS_LOGGER = "papertide.access"

jobs_log = logging.getLogger("papertide.jobs")


class _CurrentStream(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` (or ``sys.stdout``) is when a record is emitted: click's
    test runner and pytest swap them, and a handler holding the first one would write to a closed stream."""

    def __init__(self, name: str = "stderr") -> None:
        self.name_of_stream = name
        super().__init__()

    @property
    def stream(self):
        return getattr(sys, self.name_of_stream)

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _WithRequestId(logging.Filter):
    def __init__(self, missing: str | None):
        super().__init__()
        self.missing = missing  # what a record made outside any request shows

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or self.missing
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
        return True


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send every log record to stderr in ``fmt`` (text | json) from ``level`` up, and the access
    log (one line per request) to stdout, where uvicorn's own went. Calling it again replaces
    papertide's handlers (never the handlers others, e.g. test runners, added)."""
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    for logger in (root, access):
        for handler in [h for h in logger.handlers if getattr(h, "papertide", False)]:
            logger.removeHandler(handler)
        logger.addHandler(_handler(fmt, "stdout" if logger is access else "stderr"))
    access.propagate = False
    root.setLevel(level)
    for name in UVICORN_LOGGERS:  # through papertide's handler, not uvicorn's own
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # papertide.access (web/observability.py) logs each request with its id and route instead.
    logging.getLogger("uvicorn.access").propagate = False
    # Alembic says "Context impl SQLiteImpl" each time a schema is looked at (every readiness probe).
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)


def _handler(fmt: str, stream: str) -> logging.Handler:
    handler = _CurrentStream(stream)
    handler.papertide = True
    handler.addFilter(_WithRequestId(None if fmt == "json" else "-"))
    if fmt == "json":
        handler.setFormatter(OrjsonFormatter(JSON_FIELDS, rename_fields=JSON_NAMES, datefmt="%Y-%m-%dT%H:%M:%S%z"))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_from_settings(settings) -> None:
    configure_logging(settings.log_level, settings.log_format)


def log_job_run(job: str, source: str | None, counts: Mapping[str, int], seconds: float, *,
                error: str | None = None) -> None:
    """One line per job run (a harvest, an index refresh, a digest run): what, from where, how
    much, how long, and the error if it failed (the JSON form has each as its own field); and
    the run counted in the job metrics (``metrics.job_finished``), so one call does both."""
    from papertide import metrics

    metrics.job_finished(job, error is None, seconds)
    shown = ", ".join(f"{name} {value:,}" for name, value in counts.items())
    fields = {"job": job, "source": source, "counts": dict(counts), "seconds": round(seconds, 3), "ok": error is None}
    where = f" {source}" if source else ""
    if error is None:
        jobs_log.info("job %s%s finished in %.1f s: %s", job, where, seconds, shown or "nothing to do", extra=fields)
    else:
        jobs_log.error("job %s%s failed after %.1f s: %s (%s)", job, where, seconds, error, shown or "nothing done",
                       extra={**fields, "error": error})
