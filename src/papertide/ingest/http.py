"""Polite HTTP for the network sources: a pause between requests, retries that back off, a size cap.

arXiv asks clients to wait 3 seconds between calls and answers 503 (with ``Retry-After``) or 429
when they do not; OAI-PMH servers use 503 + ``Retry-After`` for flow control. ``PoliteFetcher``
does both for every source. Time is injected (``clock``/``sleep``) so tests never sleep.

A body is read as it arrives and refused past ``max_bytes`` once decompressed, so a gzip bomb
costs that request, not the machine's memory. We ask for gzip only and inflate it ourselves with
zlib's output bound: httpx inflates each network read whole, and 64 KB of a bomb is 64 MB.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from papertide import __version__
from papertide.ingest.base import SourceError

RETRY_STATUSES = frozenset({429, 503})
# A day of Hugging Face papers is ~100 KB and a 1,000-record OAI-PMH page a few MB.
MAX_RESPONSE_BYTES = 50 * 2**20
USER_AGENT = f"papertide/{__version__} (self-hosted paper discovery; +https://github.com/papertide)"


class Pacer(Protocol):
    def reserve(self, host: str, delay: float) -> float:
        """Take the next turn at ``host``; the seconds to wait for it."""


class LocalPacer:
    """Turns per host for one fetcher (one process): each ``delay`` seconds after the one before."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._next: dict[str, float] = {}

    def reserve(self, host: str, delay: float) -> float:
        now = self.clock()
        turn = max(now, self._next.get(host, now))
        self._next[host] = turn + delay
        return turn - now


class FetchError(SourceError):
    """A request failed for good: a non-retryable status, retries exhausted, or a body over the cap."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Fetched:
    """A successful response, its body read whole and decompressed."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes


@dataclass
class PoliteFetcher:
    """GETs with at least ``delay`` seconds between requests, backoff on 429/503, bodies up to ``max_bytes``.

    A 429 or 503 is retried up to ``retries`` times, waiting what ``Retry-After`` says (capped at
    ``max_wait``) or else ``backoff * 2**attempt`` seconds. Network errors are retried the same way;
    a body over ``max_bytes`` (decompressed) is not: the request fails with a ``FetchError``.
    The pause is kept by a ``pacer``: by default this fetcher's own (``LocalPacer``); with
    ``papertide.ingest.pacing.DatabasePacer`` it holds between the requests of every process
    that shares the database.
    """

    delay: float = 3.0
    retries: int = 4
    backoff: float = 5.0
    max_wait: float = 300.0
    timeout: float = 60.0
    max_bytes: int = MAX_RESPONSE_BYTES
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    client: httpx.Client | None = None
    pacer: Pacer | None = None
    _turn: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.pacer is None:
            self.pacer = LocalPacer(self.clock)
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True)

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> Fetched:
        """The 2xx response for ``url``; ``FetchError`` for anything else, after retries."""
        for attempt in range(self.retries + 1):
            self._wait_turn(httpx.URL(url).host)
            try:
                with self.client.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as response:
                    shown = _shown(str(response.url))
                    if response.is_success:
                        return Fetched(str(response.url), response.status_code, response.headers,
                                       self._body(response, shown))
                    if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                        raise FetchError(
                            f"{shown}: HTTP {response.status_code} {response.reason_phrase}"
                            + (f" (gave up after {attempt + 1} attempts)" if response.status_code in RETRY_STATUSES else ""),
                            status=response.status_code,
                            body=self._body(response, shown, cut=True),
                        )
                    wait = self._retry_wait(response, attempt)
            except httpx.TransportError as error:
                if attempt == self.retries:
                    raise FetchError(f"{_shown(url)}: {error.__class__.__name__}: {error}") from error
                wait = min(self.backoff * 2**attempt, self.max_wait)
            self.sleep(wait)  # not holding the connection meanwhile
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _wait_turn(self, host: str) -> None:
        with self._turn:  # one request at a time per fetcher, even from several threads
            wait = self.pacer.reserve(host, self.delay) if self.delay > 0 else 0.0
            if wait > 0:
                self.sleep(wait)

    def _body(self, response: httpx.Response, shown: str, *, cut: bool = False) -> bytes:
        """The decompressed body, read as it arrives; over ``max_bytes`` a ``FetchError``, or with
        ``cut`` (an error page, kept only to explain the error) its first ``max_bytes``."""
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise FetchError(f"{shown}: unsupported Content-Encoding {encoding!r} (gzip was asked for)")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
        chunks: list[bytes] = []
        size = 0
        try:
            for raw in response.iter_raw():
                while raw and size <= self.max_bytes:
                    # Never more than one byte past the cap at a time; the rest waits in the inflater.
                    chunk = inflater.decompress(raw, self.max_bytes + 1 - size) if inflater else raw
                    raw = inflater.unconsumed_tail if inflater else b""
                    chunks.append(chunk)
                    size += len(chunk)
                if size > self.max_bytes:
                    if cut:
                        return b"".join(chunks)[: self.max_bytes]
                    raise FetchError(f"{shown}: the response is larger than the limit of {self.max_bytes / 2**20:g} MB")
            if inflater is not None and not inflater.eof:
                raise FetchError(f"{shown}: the gzip-compressed response is cut short")
        except zlib.error as error:
            raise FetchError(f"{shown}: the gzip-compressed response is damaged ({error})") from error
        return b"".join(chunks)

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = self.backoff * 2**attempt
        return min(max(wait, 0.0), self.max_wait)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


def _shown(url: str, limit: int = 160) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
