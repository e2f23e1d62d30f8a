"""HTTP caching for pages, the API and feeds: validators, ``304 Not Modified`` and ``Cache-Control``.

Every 200 answer to a GET or HEAD of a shared address carries a weak ``ETag`` (a hash of the body,
so two workers that render the same page give the same tag) and a ``Last-Modified`` (when it was
rendered), and a request whose ``If-None-Match`` (or, without one, ``If-Modified-Since``) matches is
answered ``304`` with no body. The page cache (``web.cache``) keeps these headers with the bytes, so
a cached answer carries the very validators the render did, and it answers conditionals itself.

``Cache-Control``: an anonymous answer is ``public`` with a short ``s-maxage``, so a proxy in front
may answer for a few seconds, and ``max-age=0``, so browsers revalidate (a cheap 304) and see a vote
at once; an answer for a session or an API token is ``private, no-cache``. A route that sets its own
``Cache-Control`` (``/api/session``: ``no-store``) keeps it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHARED = b"public, max-age=0, s-maxage=10"
PERSONAL = b"private, no-cache"
VARY = b"Cookie, Authorization"
# Headers a 304 repeats (RFC 9110 15.4.5): what a cache needs to refresh what it holds.
KEPT_ON_304 = frozenset({b"etag", b"last-modified", b"cache-control", b"vary", b"expires", b"content-location", b"date"})


def etag_of(body: bytes) -> bytes:
    return b'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key.lower() == name), None)


def is_personal(scope: Scope, cookie_names: tuple[bytes, ...]) -> bool:
    """Whether the request says who is asking: a session cookie, or an API token."""
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and any(c + b"=" in value for c in cookie_names)):
            return True
    return False


def not_modified(request_headers: list[tuple[bytes, bytes]], headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the conditionals of a GET match the answer's validators (weak comparison; an
    ``If-None-Match`` makes ``If-Modified-Since`` count for nothing, as RFC 9110 says)."""
    if_none_match = _header(request_headers, b"if-none-match")
    if if_none_match is not None:
        etag = _header(headers, b"etag")
        if etag is None:
            return False
        wanted = {tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")}
        return b"*" in wanted or etag.removeprefix(b"W/") in wanted
    since, modified = _header(request_headers, b"if-modified-since"), _header(headers, b"last-modified")
    if since is None or modified is None:
        return False
    try:
        return parsedate_to_datetime(modified.decode("latin-1")) <= parsedate_to_datetime(since.decode("latin-1"))
    except (TypeError, ValueError):
        return False


def with_validators(headers: list[tuple[bytes, bytes]], body: bytes, *, personal: bool,
                    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> list[tuple[bytes, bytes]]:
    """``headers`` plus whatever of ETag, Last-Modified, Cache-Control and Vary they lack."""
    present = {name.lower() for name, _ in headers}
    added = []
    if b"etag" not in present:
        added.append((b"etag", etag_of(body)))
    if b"last-modified" not in present:
        added.append((b"last-modified", format_datetime(now().replace(microsecond=0), usegmt=True).encode()))
    if b"cache-control" not in present:
        added.append((b"cache-control", PERSONAL if personal or b"set-cookie" in present else SHARED))
    vary = _header(headers, b"vary")
    if vary is None:
        added.append((b"vary", VARY))
    elif b"cookie" not in vary.lower():
        headers = [(n, v) for n, v in headers if n.lower() != b"vary"] + [(b"vary", vary + b", " + VARY)]
    return [*headers, *added]


def answer_304(headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": 304, "headers": [(n, v) for n, v in headers if n.lower() in KEPT_ON_304]}


def _cacheable_answer(headers: list[tuple[bytes, bytes]]) -> bool:
    control = _header(headers, b"cache-control") or b""
    return b"no-store" not in control and _header(headers, b"set-cookie") is None


class ValidatorsMiddleware:
    """Adds validators and ``Cache-Control`` to 200 answers of GET and HEAD on the paths
    ``shared`` accepts, and answers their conditional requests with 304."""

    def __init__(self, app: ASGIApp, *, shared: Callable[[str], bool], private_cookies: tuple[str, ...]):
        self.app, self.shared = app, shared
        self.cookies = tuple(name.encode() for name in private_cookies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not self.shared(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if message["status"] != 200:
                    await send(message)
                return
            if start.get("status") != 200:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = with_validators(list(start.get("headers", [])), body, personal=is_personal(scope, self.cookies))
            if _cacheable_answer(headers) and not_modified(scope["headers"], headers):
                await send(answer_304(headers))
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffer)
