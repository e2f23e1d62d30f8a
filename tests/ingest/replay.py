"""A real HTTP server on 127.0.0.1 that replays recorded responses, routed by path and query string.

Each route is an exact (path, query parameters) match and a list of replies served in turn (the
last one repeats), so a test can script "503 with Retry-After, then the recorded 200". Every
request is logged so tests can check what the client asked for and in which order. A request
with no route gets a 404 naming it, so a wrong URL fails loudly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A test's hand on the exchange: ``served`` is set when a client asked for this reply, and a
    # ``hold`` keeps the answer back until the test sets it (a client caught mid-request).
    served: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None

    @classmethod
    def file(cls, path: Path, content_type: str, status: int = 200) -> "Reply":
        return cls(status, path.read_bytes(), {"Content-Type": content_type})


@dataclass
class Request:
    path: str
    params: dict[str, str]
    at: float = field(default_factory=time.time)  # when it arrived (wall time, as pacing turns are)
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, frozenset], list[Reply]] = {}
        self.requests: list[Request] = []
        self.fallback: Reply | None = None  # the answer to a request no route names (else a 404)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, params: dict[str, str], *replies: Reply) -> None:
        self.routes[(path, frozenset(params.items()))] = list(replies)

    def start(self) -> "ReplayServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply_for(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(path, params, headers=headers))
            replies = self.routes.get((path, frozenset(params.items())))
            if not replies and self.fallback is not None:
                return self.fallback
            if not replies:
                return Reply(404, f"no recording for {path} {sorted(params.items())}".encode())
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                reply = server._reply_for(url.path, dict(parse_qsl(url.query, keep_blank_values=True)),
                                          {name.lower(): value for name, value in self.headers.items()})
                reply.served.set()
                if reply.hold is not None:
                    reply.hold.wait(120)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args) -> None:
                pass

        return Handler
