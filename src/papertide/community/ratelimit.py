"""Rate limits kept in the database, so they hold across any number of web workers.

A limit is "at most ``limit`` events per ``window`` for a key" (``"vote:user:42"``). Checking
records the event first and then counts, inside the caller's transaction: on SQLite writers are
serialised, so the count is exact; on PostgreSQL two racing requests may both pass at the edge,
which is fine for abuse control. A refused attempt is rolled back with the request, so it does
not extend the penalty.

Limits are scaled by ``Settings.rate_limit_scale`` (0 turns them off), so load tests and
benchmarks can raise them without code changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from papertide.community.models import RateLimitEvent

_events = RateLimitEvent.__table__


@dataclass(frozen=True)
class Limit:
    """At most ``count`` actions per ``window``."""

    count: int
    window: timedelta

    def scaled(self, scale: float) -> "Limit | None":
        if scale <= 0:
            return None
        return Limit(max(1, math.ceil(self.count * scale)), self.window)


# The defaults: generous for people, tight for scripts.
LIMITS: dict[str, Limit] = {
    "login": Limit(10, timedelta(minutes=5)),      # per client address and per username
    "signup": Limit(5, timedelta(hours=1)),        # per client address
    "vote": Limit(120, timedelta(minutes=1)),      # per user
    "comment": Limit(10, timedelta(minutes=1)),    # per user
    "submit": Limit(20, timedelta(hours=1)),       # per user
}


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` seconds until the oldest one leaves the window."""

    def __init__(self, action: str, retry_after: int):
        super().__init__(f"too many {action} attempts; try again in {retry_after} s")
        self.action = action
        self.retry_after = retry_after


def hit(session: Session, action: str, subject: str, *, now: datetime, scale: float = 1.0) -> None:
    """Record one ``action`` by ``subject`` (a user id or client address); raise ``RateLimited``
    if that makes more than the action's limit within its window."""
    limit = LIMITS[action].scaled(scale)
    if limit is None:
        return
    key = f"{action}:{subject}"[:200]
    since = now - limit.window
    session.execute(delete(_events).where(_events.c.key == key, _events.c.created_at < since))
    session.execute(insert(_events).values(key=key, created_at=now))
    count, oldest = session.execute(
        select(func.count(), func.min(_events.c.created_at)).where(_events.c.key == key, _events.c.created_at >= since)
    ).one()
    if count > limit.count:
        retry_after = max(1, math.ceil((oldest + limit.window - now).total_seconds())) if oldest else 1
        raise RateLimited(action, retry_after)
