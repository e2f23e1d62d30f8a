"""Every request's id, duration, log line and metrics, in one pure ASGI middleware.

It is the outermost layer, so it times what a client waits for, page-cache hits included, and
costs a few microseconds: no Starlette request object, no per-request allocation beyond the id.
The id is the client's ``X-Request-ID`` when it is a sane token (a proxy's or a load balancer's,
so one id follows a request through every tier), else a new one; it is returned in the answer's
``X-Request-ID`` header and put on every log line written while the request runs.

Routes are counted by their template (``/papers/{arxiv_id}``), never by raw path, so the number of
metric series stays bounded whatever clients ask for; a path no route matches is ``unmatched``.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections import OrderedDict

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide import metrics
from papertide.logging_setup import ACCESS_LOGGER, request_id

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{8,128}")
UNMATCHED = "unmatched"
_now = time.perf_counter

access_log = logging.getLogger(ACCESS_LOGGER)


_ID_PREFIX = secrets.token_hex(4)  # this process's; with a counter, unique across workers and restarts
_ID_NUMBERS = itertools.count(1)


def new_request_id() -> str:
    """16 hex digits: cheaper than fresh randomness per request, as unique for finding log lines."""
    return f"{_ID_PREFIX}{next(_ID_NUMBERS) & 0xFFFFFFFF:08x}"


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's X-Request-ID if it is a plain token of 8 to 128 characters (nothing that
    could forge a log line or bloat a header); None otherwise."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _SANE_ID.fullmatch(value) else None
    return None


class RouteTemplates:
    """The route template of each answered request: the one the router chose (``scope["route"]``),
    remembered by path for the page cache's hits, which never reach the router. The memo is an
    LRU larger than the page cache, so every path the cache can answer is in it."""

    def __init__(self, routes: list[BaseRoute], size: int = 8192):
        self.mounts = tuple(route.path for route in routes if isinstance(route, Mount))
        self.size = size
        self._by_path: OrderedDict[str, str] = OrderedDict()

    def __call__(self, scope: Scope) -> str:
        path = scope["path"]
        route = scope.get("route")
        if route is not None:
            template = getattr(route, "path", UNMATCHED)
            self._by_path[path] = template
            if len(self._by_path) > self.size:
                self._by_path.popitem(last=False)
            return template
        template = self._by_path.get(path)
        if template is not None:
            self._by_path.move_to_end(path)
            return template
        for mount in self.mounts:  # static files: the mount's app does not name a route
            if path.startswith(mount + "/"):
                return mount + "/{path}"
        return UNMATCHED


class ObservabilityMiddleware:
    """Request id, duration, access log line and request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute], log_requests: bool = True):
        self.app = app
        self.template = RouteTemplates(routes)
        self.log_requests = log_requests
        self.count = metrics.request_counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = _now()
        rid = incoming_request_id(scope["headers"]) or new_request_id()
        token = request_id.set(rid)
        status = 500  # what the client gets if the app fails before answering
        header = (REQUEST_ID_HEADER, rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if type(headers) is list:  # made for this answer (as Starlette's middlewares assume too)
                    headers.append(header)
                else:
                    message = {**message, "headers": [*(headers or ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = _now() - started
            route = self.template(scope)
            method = scope["method"]
            self.count(method if method in metrics.METHODS else "OTHER", route, status, seconds)
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, seconds * 1000, extra={
                    "method": scope["method"], "path": scope["path"], "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 3), "client": client[0] if client else None})
            request_id.reset(token)
