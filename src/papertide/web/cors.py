"""CORS for what anyone may read: pages of other origins may fetch the API and the feeds.

Only GET and HEAD (and their preflight) on ``/api/`` and ``/feeds/``, for the origins of
``Settings.cors_origins`` ("*" by default), without cookies: a page elsewhere reads what an
anonymous reader, or the holder of the API token it sends, may read. Writes get no CORS headers,
so a browser never lets another origin's page read their answers or send them with a token.
Starlette's ``CORSMiddleware`` does the work; this only decides which requests it sees.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

READ_ONLY_PREFIXES = ("/api/", "/feeds/")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
EXPOSED = ["ETag", "Last-Modified", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
           "RateLimit-Policy", "WWW-Authenticate"]


class ReadOnlyCORSMiddleware:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]):
        self.app = app
        origins = list(origins)
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "HEAD"],
                                   allow_headers=["Authorization", "Accept", "If-None-Match", "If-Modified-Since"],
                                   expose_headers=EXPOSED, max_age=600) if origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.cors is not None and scope["type"] == "http" and scope["method"] in READ_METHODS
                and scope["path"].startswith(READ_ONLY_PREFIXES)):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
