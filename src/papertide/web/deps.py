"""What every route needs from the application: settings, the database, the clock.

``create_app(settings)`` puts them on ``app.state``; these helpers read them there (falling back
to the process-wide ones), so tests can run several apps with different databases side by side.

Write in one transaction and commit *before* answering: ``with database(request).session() as s:``
inside the route. Read-only routes may use ``Depends(read_session)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from fastapi import Request
from sqlalchemy.orm import Session

from papertide.community import submissions
from papertide.config import Settings, get_settings
from papertide.db import Database, get_database


def settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def database(request: Request) -> Database:
    found = getattr(request.app.state, "database", None)
    return found if found is not None else get_database(settings(request).database_url)


def now(request: Request) -> datetime:
    """The current time; tests may set ``app.state.clock`` to a function returning a fixed time."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else datetime.now(timezone.utc)


def arxiv_fetch(request: Request) -> submissions.Fetch:
    """How a submission asks arXiv: ``app.state.fetch_paper`` when a test or deployment set one,
    else the arXiv client, waiting at most the settings' ``submit_timeout``."""
    return getattr(request.app.state, "fetch_paper", None) or submissions.default_fetch(database(request), settings(request))


def read_session(request: Request) -> Iterator[Session]:
    """A session for a read-only route (FastAPI dependency)."""
    with database(request).session() as session:
        yield session
