"""Web fixtures: a small catalog, the real app on a real database, and a real uvicorn server.

``client`` talks to the app in-process through httpx's ASGI transport (Starlette's TestClient),
for route tests where sockets add nothing. ``live_server`` starts uvicorn on a free loopback port
in a thread and waits until it accepts connections, for tests that need real HTTP (concurrency,
the huggingface_hub client).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.config import Settings
from papertide.db import Database

SECRET = "papertide-test-secret-key-not-for-production"
NOW = datetime(2025, 8, 21, 9, 0, tzinfo=timezone.utc)  # a Thursday morning
PASSWORD = "correct horse battery staple"


def make_record(arxiv_id: str, title: str, *, day: date | None, upvotes: int = 0, comments: int = 0,
                org: tuple[str, str] | None = None, authors: list[str] | None = None, abstract: str | None = None,
                published: datetime | None = None, github: str | None = None, submitted_by: str | None = "someone",
                hour: int = 6) -> PaperRecord:
    """A valid record with a place on the daily list of ``day`` (None: catalog only)."""
    published = published or (datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) - timedelta(days=1)
                               if day else datetime(2025, 8, 1, tzinfo=timezone.utc))
    return PaperRecord(
        arxiv_id=arxiv_id, version=1, title=title,
        abstract=abstract or f"We study {title.lower()} and report results.",
        authors=authors or ["Ada Lovelace", "Alan Turing"],
        published_at=published, github_repo=github, upvotes=upvotes, num_comments=comments,
        organization={"slug": org[0], "name": org[1]} if org else None,
        daily={"date": day, "submitted_at": datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
               + timedelta(hours=hour), "submitted_by": submitted_by} if day else None,
    )


# The standard small catalog: three days with papers (Mon 18, Tue 19, Thu 21 Aug 2025), an
# organisation, and one paper outside the daily list.
MON, TUE, THU = date(2025, 8, 18), date(2025, 8, 19), date(2025, 8, 21)
CATALOG = [
    make_record("2508.00001", "Sparse attention for long context", day=MON, upvotes=5, org=("acme", "Acme AI")),
    make_record("2508.00002", "Diffusion models for protein design", day=MON, upvotes=12),
    make_record("2508.00003", "Vision transformers at scale", day=TUE, upvotes=3, org=("acme", "Acme AI"),
                github="https://github.com/acme/vit"),
    make_record("2508.00004", "Reinforcement learning from feedback", day=THU, upvotes=40, hour=1,
                published=datetime(2025, 8, 1, tzinfo=timezone.utc)),
    make_record("2508.00005", "Tiny language models that reason", day=THU, upvotes=8, hour=8,
                published=datetime(2025, 8, 20, tzinfo=timezone.utc)),
    make_record("2508.00006", "Retrieval augmented attention", day=THU, upvotes=0, hour=7,
                published=datetime(2025, 8, 19, tzinfo=timezone.utc)),
    make_record("2508.00007", "A survey of sparse attention", day=None, upvotes=1, org=("acme", "Acme AI")),
]


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


def seed(database: Database, records: list[PaperRecord] = CATALOG) -> None:
    with database.session() as session:
        upsert_papers(session, records)


@pytest.fixture
def catalog(database: Database) -> Database:
    seed(database)
    return database


def settings_for(database: Database, **overrides) -> Settings:
    return Settings(database_url=database.url, secret_key=SECRET, base_url="http://testserver").with_changes(**overrides)


def build_app(settings: Settings, database: Database, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The real site, as ``papertide serve`` runs it (page cache included)."""
    from papertide.web.app import create_app

    return create_app(settings, database=database, clock=clock)


@pytest.fixture
def app(catalog: Database) -> FastAPI:
    return build_app(settings_for(catalog), catalog, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


# ---------------------------------------------------------------------------------------------
# People


class Visitor:
    """One browser-like client: keeps its cookies, knows its CSRF token."""

    def __init__(self, http: httpx.Client):
        self.http = http
        self.csrf = ""

    def refresh_token(self) -> str:
        answer = self.http.get("/api/session")
        answer.raise_for_status()
        self.csrf = answer.json()["csrfToken"]
        return self.csrf

    def post(self, path: str, data: dict | None = None, *, json_api: bool = True, **kwargs) -> httpx.Response:
        """A form post with the CSRF token, asking for JSON answers (like a script would)."""
        if not self.csrf:
            self.refresh_token()
        headers = {"Accept": "application/json"} if json_api else {}
        headers.update(kwargs.pop("headers", {}))
        return self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, headers=headers, **kwargs)

    def sign_up(self, username: str, password: str = PASSWORD) -> httpx.Response:
        answer = self.post("/signup", {"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        self.refresh_token()  # logging in starts a new session with a new token
        return answer

    def log_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        answer = self.post("/login", {"username": username, "password": password})
        self.refresh_token()
        return answer

    def vote(self, arxiv_id: str) -> httpx.Response:
        return self.post(f"/papers/{arxiv_id}/vote")


def make_admin(database: Database, username: str) -> None:
    from papertide.community import accounts

    with database.session() as session:
        accounts.set_admin(session, username)


# ---------------------------------------------------------------------------------------------
# A real server


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_server(catalog: Database) -> Iterator[Callable[..., str]]:
    """``start(**settings_overrides) -> base URL``: the real app under uvicorn on loopback."""
    servers: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(**overrides) -> str:
        sock = _free_socket()
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = build_app(settings_for(catalog, base_url=base_url, **overrides), catalog, clock=lambda: NOW)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=30))
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
