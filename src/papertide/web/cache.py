"""A rendered-page cache for anonymous readers, correct across any number of web workers.

Most visits are anonymous readers asking for the same few pages (today's list, a popular paper,
a common search). Each worker keeps the bytes it rendered, keyed on the request's path and query,
and tagged with the site's *content version*: a counter in the database that ingest and the
community services bump in the same transaction as every new paper, vote, comment, submission or
moderation action (``papertide.catalog.versions``). Before answering from the cache a worker reads that counter;
if it moved, the entry is stale and the page is rendered again. A cache hit costs that read
instead of a page render.

How the counter is read depends on the database. On SQLite it is one indexed row read per
request, a local file read: a vote made through one worker is reflected by every worker on the
very next request. On PostgreSQL that read is a network round trip, so each worker keeps the
counter in memory, current through LISTEN/NOTIFY (``papertide.catalog.version_listener``; the
``listen_versions`` setting, on by default, turns it off): every bump notifies in its own
transaction, so only once it commits. The staleness window: a worker sees its own commits at
once (it reads the row until their notification arrives), and another worker's once the
notification reaches it, about 0.1 ms after the commit returned to that worker on one machine
(p99 0.15 ms; docs/performance.md); a request served in between gets the page as it was before
that commit. Whenever the listening connection is down (from the moment its thread sees the
failure until it has listened and read the row again), every request reads the row as on SQLite.
A connection that dies silently (a network partition without a reset) is noticed within about 7
seconds (a heartbeat query after 2 quiet seconds, which fails once the server has not acknowledged
it for 5): that is the worst case for a page older than another worker's change.

Text answers are also stored gzip-compressed (once, when stored) and sent that way to clients
that accept it: a page travels at a fraction of its size at no per-request cost.

Entries also expire after ``ttl`` seconds, which covers what changes without a vote: the clock
(trending decays with age, "today" turns into tomorrow) and a catalog ingest.

Only responses that are the same for everyone are stored: GET requests without a session
cookie or an ``Authorization`` header, answered 200, setting no cookie and not marked
``no-store`` or ``private``. They are stored with the validators ``web.http_cache`` gave them
(ETag, Last-Modified), so a cached answer carries the same ones as the render; the cache renders
without the client's conditionals and answers those itself (304), on hits and misses alike.

Misses are coalesced: while one request renders a page, others asking for the same page at the
same version wait for that render instead of starting their own. Without it, a popular page that
expires under load is rendered by every waiting connection at once (a cache stampede), and the
GIL makes each of those renders as slow as all of them together.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.web.http_cache import answer_304, is_personal, not_modified


CONDITIONALS = frozenset({b"if-none-match", b"if-modified-since"})
COMPRESSIBLE = (b"text/", b"application/json", b"application/xml", b"application/atom+xml", b"application/rss+xml")


@dataclass(frozen=True)
class CachedPage:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bytes | None = None  # compressed once when stored, for clients that accept gzip

    def answer(self, accepts_gzip: bool) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """Headers and body for a client, gzip-encoded when it accepts that and it pays."""
        if not (accepts_gzip and self.gzipped is not None):
            return self.headers, self.body
        headers = [(n, v) for n, v in self.headers if n.lower() != b"content-length"]
        headers += [(b"content-length", str(len(self.gzipped)).encode()), (b"content-encoding", b"gzip")]
        return headers, self.gzipped


def _vary_on_encoding(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with ``Accept-Encoding`` added to ``Vary`` (shared caches must keep both forms)."""
    vary = [v for n, v in headers if n.lower() == b"vary"]
    if any(b"accept-encoding" in v.lower() for v in vary):
        return headers
    merged = b", ".join([*vary, b"Accept-Encoding"])
    return [*((n, v) for n, v in headers if n.lower() != b"vary"), (b"vary", merged)]


def compress(headers: list[tuple[bytes, bytes]], body: bytes) -> bytes | None:
    """The gzip of a text body worth compressing, else None."""
    kind = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    if len(body) < 1024 or not kind.startswith(COMPRESSIBLE) or any(n.lower() == b"content-encoding" for n, _ in headers):
        return None
    return gzip.compress(body, compresslevel=6, mtime=0)


class VersionedLRU:
    """Values by key, each good at one content version and for ``ttl`` seconds, in a bounded LRU:
    the least recently used leave first beyond ``max_entries`` or ``max_bytes`` (the sizes their
    owners give). A look-up at another version drops the entry (versions only move forward).
    The page cache keeps its pages here; ``web.reader_pages`` its shared pages, which routes store
    from the thread pool while the middleware reads on the event loop, hence the lock."""

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.max_entries, self.max_bytes, self.ttl, self.clock = max_entries, max_bytes, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable, version: Hashable):
        """The value stored under ``key`` at ``version``, if it has not expired; else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version or entry[1] <= self.clock():
                if entry is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def store(self, key: Hashable, version: Hashable, value: object, size: int) -> None:
        with self._lock:
            self._drop(key)
            self._entries[key] = (version, self.clock() + self.ttl, value, size)
            self._bytes += size
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[3]


class PageCache(VersionedLRU):
    """The rendered pages of anonymous readers; the caller supplies the current content version."""

    def __init__(self, *, max_entries: int = 2048, max_bytes: int = 64 * 1024 * 1024, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(max_entries=max_entries, max_bytes=max_bytes, ttl=ttl, clock=clock)

    def get(self, key: Hashable, version: Hashable) -> CachedPage | None:
        return super().get(key, version)

    def put(self, key: Hashable, version: Hashable, status: int, headers: list[tuple[bytes, bytes]],
            body: bytes) -> CachedPage:
        """Store a page (unless it alone would take an eighth of the budget) and return it."""
        headers = _vary_on_encoding(headers)
        page = CachedPage(status, headers, body, compress(headers, body))
        if len(body) <= self.max_bytes // 8:  # one huge page must not flush everything else
            self.store(key, version, page, len(body) + len(page.gzipped or b""))
        return page


class Memo:
    """A small per-worker memo with a time to live, for derived data that may lag a few minutes
    (which papers are similar to one another, the organisation menu) and is costly to compute."""

    def __init__(self, *, ttl: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._values: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], object]):
        found = self._values.get(key)
        if found is not None and found[0] > self.clock():
            self._values.move_to_end(key)
            return found[1]
        value = compute()
        self._values[key] = (self.clock() + self.ttl, value)
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
        return value


def _accepts_gzip(scope: Scope) -> bool:
    for header, value in scope["headers"]:
        if header == b"accept-encoding":
            return b"gzip" in value
    return False


class PageCacheMiddleware:
    """ASGI middleware that answers cacheable GETs from a ``PageCache``.

    ``version`` is called once per candidate request (it reads the database, or memory kept
    current by ``catalog.version_listener``); ``cacheable``
    decides by path which pages may be shared; ``private_cookies`` are the cookie names that
    make a request personal (the session), so it bypasses the cache entirely.
    """

    def __init__(self, app: ASGIApp, *, cache: PageCache, version: Callable[[], Hashable],
                 cacheable: Callable[[str], bool], private_cookies: Iterable[str]):
        self.app, self.cache, self.version, self.cacheable = app, cache, version, cacheable
        self.private_cookies = tuple(name.encode() for name in private_cookies)
        self._rendering: dict[Hashable, asyncio.Future[CachedPage | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.cacheable(scope["path"])
            or is_personal(scope, self.private_cookies)
        ):
            await self.app(scope, receive, send)
            return

        key = (scope["path"], scope["query_string"])
        version = self.version()
        entry = self.cache.get(key, version)
        if entry is None and (leader := self._rendering.get((key, version))) is not None:
            entry = await asyncio.shield(leader)  # someone is rendering this page: share theirs
        if entry is not None:
            await self._answer(scope, send, entry)
            return

        rendered: asyncio.Future[CachedPage | None] = asyncio.get_running_loop().create_future()
        self._rendering[(key, version)] = rendered
        start: Message = {}
        chunks: list[bytes] = []
        # Rendered without the client's conditionals (so the answer is a whole 200 to store); the
        # scope itself is changed and put back, so what the router records in it (scope["route"])
        # reaches the layers outside, such as the request metrics.
        client_headers = scope["headers"]
        scope["headers"] = [(n, v) for n, v in client_headers if n not in CONDITIONALS]
        matched = False  # the client's conditionals match this render: it gets a 304

        async def capture(message: Message) -> None:
            nonlocal start, matched
            if message["type"] == "http.response.start":
                start = message
                headers = list(message.get("headers", []))
                matched = message["status"] == 200 and not_modified(client_headers, headers)
                message = answer_304(headers) if matched else message
                message = {**message, "headers": [*message["headers"], (b"x-cache", b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and not rendered.done():
                    rendered.set_result(self._store(key, version, start, b"".join(chunks)))
                if matched:
                    message = {"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)}
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            scope["headers"] = client_headers
            if not rendered.done():
                rendered.set_result(None)  # failed or not shareable: waiters render their own
            self._rendering.pop((key, version), None)

    @staticmethod
    async def _answer(scope: Scope, send: Send, entry: CachedPage) -> None:
        """A stored page to a client: 304 when its conditionals match the stored validators,
        gzip when it accepts that."""
        if not_modified(scope["headers"], entry.headers):
            start = answer_304(entry.headers)
            await send({**start, "headers": [*start["headers"], (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers, body = entry.answer(_accepts_gzip(scope))
        await send({"type": "http.response.start", "status": entry.status, "headers": [*headers, (b"x-cache", b"hit")]})
        await send({"type": "http.response.body", "body": body})

    def _store(self, key: Hashable, version: Hashable, start: Message, body: bytes) -> CachedPage | None:
        """Keep the response if it is shareable; return it (None if not) for coalesced waiters."""
        headers = list(start.get("headers", []))
        if start.get("status") != 200:
            return None
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"set-cookie":
                return None
            if lowered == b"cache-control" and (b"no-store" in value or b"private" in value):
                return None
        return self.cache.put(key, version, 200, headers, body)
