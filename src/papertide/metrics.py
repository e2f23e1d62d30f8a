"""Prometheus metrics: what the services count, and the text ``/metrics`` answers.

The services call the small functions here (``request_finished``, ``search_finished``,
``job_finished``, ``papers_ingested``, ``digest_sent``, ``digest_failed``); nothing else needs to
know prometheus-client. All names start with ``papertide_``; labels are bounded (route templates,
job and source names, never raw paths or ids).

Several processes add up through prometheus-client's multi-process mode: each process writes its
counters to memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums the files.
``papertide serve`` sets that directory up for its workers (``prepare_multiprocess_dir``); any
other papertide process of the machine joins it when ``PAPERTIDE_METRICS_DIR`` names it. The
mode is chosen when the first metric is made, so this module imports prometheus-client lazily.
"""

from __future__ import annotations

import os
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# From a cached page (~0.1 ms) to a slow search or a cold render (seconds).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_FILE_PID = re.compile(r"_(\d+)\.db$")


class _Metrics:
    """Every metric papertide exports, made once per process."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram, values

        values.ValueClass = values.get_value_class()  # the mode PROMETHEUS_MULTIPROC_DIR asks for now
        self.requests = Counter("papertide_http_requests", "HTTP requests answered, by route template and status.",
                                ["method", "route", "status"])
        self.request_seconds = Histogram("papertide_http_request_duration_seconds",
                                         "Time to answer an HTTP request, by route template.",
                                         ["method", "route"], buckets=LATENCY_BUCKETS)
        self.search_seconds = Histogram("papertide_search_duration_seconds", "Time to answer a search.",
                                        ["kind"], buckets=LATENCY_BUCKETS)
        self.jobs = Counter("papertide_jobs_run", "Job runs finished (ok or not), by job.", ["job"])
        self.job_failures = Counter("papertide_jobs_failed", "Job runs that failed, by job.", ["job"])
        self.job_seconds = Histogram("papertide_job_duration_seconds", "Time a job run took.", ["job"],
                                     buckets=JOB_BUCKETS)
        self.papers = Counter("papertide_papers_ingested", "Papers added to the catalog, by source.", ["source"])
        self.digests_sent = Counter("papertide_digests_sent", "Digest emails accepted by the SMTP server.")
        self.digests_failed = Counter("papertide_digests_failed",
                                      "Digest emails given up on, by reason (bounced, failed).", ["reason"])
        self.tally = _RequestTally(self)


class _RequestTally:
    """Requests counted in plain Python and handed to prometheus-client in batches.

    A cached page costs the server tens of microseconds; counting it through prometheus-client
    (label lookup, a lock and a memory-mapped write per value, three values per request) would add
    several more. Here a request costs a dict lookup and three additions; every ``FLUSH_SECONDS``
    (from a background thread, and before each scrape) the sums go to the real metrics at once.
    A scrape may therefore lag by up to that long.
    """

    FLUSH_SECONDS = 0.5

    def __init__(self, metrics: _Metrics):
        self.metrics = metrics
        self.bounds = metrics.request_seconds._upper_bounds  # ends with +Inf
        self.pending: dict[tuple[str, str, int], list] = {}
        self.lock = threading.Lock()
        self.flusher: threading.Thread | None = None

    def add(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        with self.lock:
            entry = self.pending.get(key)
            if entry is None:
                entry = self.pending[key] = [0, 0.0, [0] * len(self.bounds)]
                if self.flusher is None:
                    self._start_flusher()
            entry[0] += 1
            entry[1] += seconds
            entry[2][bisect_left(self.bounds, seconds)] += 1

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, {}
        for (method, route, status), (count, total, buckets) in pending.items():
            self.metrics.requests.labels(method, route, str(status)).inc(count)
            histogram = self.metrics.request_seconds.labels(method, route)
            # prometheus-client observes one value at a time; its histogram keeps a sum and a
            # count per bucket (not cumulative), which is what is added here, in one go.
            histogram._sum.inc(total)
            for index, hits in enumerate(buckets):
                if hits:
                    histogram._buckets[index].inc(hits)

    def _start_flusher(self) -> None:
        self.flusher = threading.Thread(target=self._flush_forever, name="papertide-metrics", daemon=True)
        self.flusher.start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.FLUSH_SECONDS)  # a period, not a synchronisation
            self.flush()


_metrics: _Metrics | None = None
_lock = threading.Lock()


def _get() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _join_configured_dir()
                _metrics = _Metrics()
    return _metrics


def _join_configured_dir() -> None:
    """Write to ``PAPERTIDE_METRICS_DIR`` when it is configured and no directory was handed down."""
    if os.environ.get(MULTIPROC_ENV):
        return
    from papertide.config import ConfigError, get_settings

    try:
        directory = get_settings().metrics_dir
    except ConfigError:  # reported by whoever loads the settings for real; counting must not fail
        return
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        os.environ[MULTIPROC_ENV] = directory


# -- what the services call ------------------------------------------------------------------


def request_finished(method: str, route: str, status: int, seconds: float) -> None:
    _get().tally.add(method if method in METHODS else "OTHER", route, status, seconds)


def request_counter() -> Callable[[str, str, int, float], None]:
    """``request_finished`` for the hot path: the tally's own method, ``method`` already one of METHODS."""
    return _get().tally.add


def search_finished(seconds: float, kind: str = "search") -> None:
    """A search (``search``) or a similar-papers lookup (``similar``) took ``seconds``."""
    if _searches_recorded.get():
        _get().search_seconds.labels(kind).observe(seconds)


_searches_recorded: ContextVar[bool] = ContextVar("papertide_searches_recorded", default=True)


@contextmanager
def searches_unrecorded() -> Iterator[None]:
    """Searches made inside count nowhere: a worker's warm-up searches (``web.warm``), which no
    reader asked for. A context variable, so it follows the work into the event loop and the
    threads that asyncio and anyio run it on, and touches no other thread's searches."""
    token = _searches_recorded.set(False)
    try:
        yield
    finally:
        _searches_recorded.reset(token)


def job_finished(job: str, ok: bool, seconds: float | None = None) -> None:
    """One run of ``job`` ended; ``ok=False`` counts it as failed too."""
    metrics = _get()
    metrics.jobs.labels(job).inc()
    if not ok:
        metrics.job_failures.labels(job).inc()
    if seconds is not None:
        metrics.job_seconds.labels(job).observe(seconds)


def papers_ingested(source: str, count: int) -> None:
    """``count`` new papers came into the catalog from ``source`` (a source name, not a URL or path)."""
    if count:
        _get().papers.labels(source).inc(count)


def digest_sent() -> None:
    _get().digests_sent.inc()


def digest_failed(reason: str) -> None:
    _get().digests_failed.labels(reason).inc()


# -- exposition -----------------------------------------------------------------------------


def exposition(extra: Iterable = ()) -> tuple[bytes, str]:
    """The text format of every process's metrics (or this process's, outside multi-process
    mode), plus the ``extra`` collectors (values computed at scrape time); and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    _get().tally.flush()  # this process's latest requests; the others' are at most FLUSH_SECONDS old
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Everything(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Everything:
    """The process's default registry as one collector of another registry."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def prepare_multiprocess_dir(directory: str | Path) -> Path:
    """Make ``directory`` ready for a new server: created, and cleared of the files of processes
    that are gone (a live ``papertide worker`` sharing it keeps its counters)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for file in path.glob("*.db"):
        found = _FILE_PID.search(file.name)
        if found is None or not _alive(int(found.group(1))):
            file.unlink(missing_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
