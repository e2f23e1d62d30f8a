"""Web fixtures: a small catalog, the real app on a real database, and a real uvicorn server.

``client`` talks to the app in-process through httpx's ASGI transport (Starlette's TestClient),
for route tests where sockets add nothing. ``live_server`` starts uvicorn on a free loopback port
in a thread and waits until it accepts connections, for tests that need real HTTP (concurrency,
the huggingface_hub client). The builders behind them are in ``tests/web/helpers.py`` and
``tests/catalog/helpers.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from papertide.db import Database
from tests.catalog.helpers import NOW, seed
from tests.web.helpers import build_app, settings_for


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch):
    """argon2id with the cheapest parameters, so tests that create many accounts stay fast.
    A test that asks for ``production_hasher`` keeps the real parameters."""
    if "production_hasher" in request.fixturenames:
        return
    from argon2 import PasswordHasher

    from papertide.community import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("papertide-dummy-password"))


@pytest.fixture
def production_hasher():
    """Marks a test that must hash with papertide's real argon2 parameters."""


@pytest.fixture
def catalog(database: Database) -> Database:
    seed(database)
    return database


@pytest.fixture
def app(catalog: Database) -> FastAPI:
    return build_app(settings_for(catalog), catalog, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


# ---------------------------------------------------------------------------------------------
# A real server


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_server(catalog: Database) -> Iterator[Callable[..., str]]:
    """``start(serve=None, **settings_overrides) -> base URL``: the real app under uvicorn on loopback."""
    servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(*, serve: Callable[[FastAPI], object] | None = None, **overrides) -> str:
        """``serve`` may prepare the app and return what to serve instead (e.g. the app wrapped)."""
        sock = _free_socket()
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = build_app(settings_for(catalog, base_url=base_url, **overrides), catalog, clock=lambda: NOW)
        served = serve(app) if serve else app
        server = uvicorn.Server(uvicorn.Config(served, log_level="warning", lifespan="off", timeout_keep_alive=30))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        deadline = time.monotonic() + 30
        while not server.started:  # readiness: uvicorn sets this once it is accepting
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return base_url

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
