"""Builders the web tests share, in this folder and beyond: settings and the real app for a test
database, and ``Visitor``, a browser-like client that keeps its cookies and its CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
from fastapi import FastAPI

from papertide.community import accounts
from papertide.config import Settings
from papertide.db import Database
from papertide.web.app import create_app

SECRET = "papertide-test-secret-key-not-for-production"
PASSWORD = "correct horse battery staple"


def settings_for(database: Database, **overrides) -> Settings:
    return Settings(database_url=database.url, secret_key=SECRET, base_url="http://testserver").with_changes(**overrides)


class Clock:
    """An app's clock that a test moves (``build_app(..., clock=clock)``, then ``clock.now = ...``)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build_app(settings: Settings, database: Database, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The real site, as ``papertide serve`` runs it (page cache included)."""
    return create_app(settings, database=database, clock=clock)


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
    with database.session() as session:
        accounts.set_admin(session, username)
