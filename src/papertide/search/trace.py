"""Named spans with timings, recorded only while someone listens (datasette's tracer, for search).

Benchmarks and tests want to know what one search did and how long each step took; production
wants none of that cost. So each step of a search runs inside ``span("keyword")`` and the like,
which does nothing unless the calling context is inside ``capture()``::

    with capture() as spans:
        service.search("sparse attention")
    [(s.name, s.wall_ms) for s in spans]

The spans of the current context only (a context variable): concurrent searches on other threads
are not mixed in, and work handed to another thread is not recorded (the query embedding runs
beside the search; what the search waits for is its own span).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One step: when it started (``time.perf_counter``), its wall-clock and CPU milliseconds
    (CPU of the whole process while it ran: all threads, the child process not included)."""

    name: str
    started: float
    wall_ms: float
    cpu_ms: float

    @property
    def ended(self) -> float:
        return self.started + self.wall_ms / 1000


_spans: ContextVar[list[Span] | None] = ContextVar("papertide_search_spans", default=None)


@contextmanager
def span(name: str) -> Iterator[None]:
    """Record the enclosed step as ``name`` if a ``capture()`` is listening, else nothing."""
    spans = _spans.get()
    if spans is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        spans.append(Span(name, wall, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))


@contextmanager
def capture() -> Iterator[list[Span]]:
    """Collect the spans of everything run in this context meanwhile, in the order they end."""
    spans: list[Span] = []
    token = _spans.set(spans)
    try:
        yield spans
    finally:
        _spans.reset(token)


def names(spans: list[Span]) -> list[str]:
    return [s.name for s in spans]
