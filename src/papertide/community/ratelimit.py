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
import random
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


# The defaults: generous for people (a lab shares one address), tight for scripts.
_LOGIN = Limit(10, timedelta(minutes=5))
_LOGIN_IP = Limit(30, timedelta(minutes=5))
LIMITS: dict[str, Limit] = {
    "login": _LOGIN,                               # failed log-ins per (username, client address)
    "login_ip": _LOGIN_IP,                         # failed log-ins per client address
    # Password resets are a way in too, so they get log-in's limits, counted apart (asking for
    # resets must not lock anyone out of logging in).
    "reset": _LOGIN,                               # reset emails asked for, per username or address
    "reset_ip": _LOGIN_IP,                         # reset emails asked for and bad reset links, per client address
    "signup": Limit(20, timedelta(hours=1)),       # per client address
    "vote": Limit(120, timedelta(minutes=1)),      # per user
    "comment": Limit(10, timedelta(minutes=1)),    # per user
    "submit": Limit(20, timedelta(hours=1)),       # per user
    "follow": Limit(120, timedelta(minutes=1)),    # per user
    "collect": Limit(120, timedelta(minutes=1)),   # per user: saving papers, making collections
    "subscribe": Limit(10, timedelta(hours=1)),    # digest subscription requests per client address
    "confirmation_email": Limit(100, timedelta(hours=1)),  # confirmation emails, all addresses together
}


PRUNE_EVERY = 200


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` seconds until the oldest one leaves the window. ``limit``
    is the limit that was reached (for the answer's ``RateLimit-*`` headers)."""

    def __init__(self, action: str, retry_after: int, limit: Limit | None = None):
        super().__init__(f"too many {action.replace('_', ' ')} attempts; try again in {retry_after} s")
        self.action = action
        self.retry_after = retry_after
        self.limit = limit


def hit(session: Session, action: str, subject: str, *, now: datetime, scale: float = 1.0) -> None:
    """Record one ``action`` by ``subject`` (a user id or client address); raise ``RateLimited``
    if that makes more than the action's limit within its window."""
    limit = LIMITS[action].scaled(scale)
    if limit is None:
        return
    record(session, action, subject, now=now)
    _check(session, action, f"{action}:{subject}"[:200], limit, now, allowed=limit.count)


def check(session: Session, action: str, subject: str, *, now: datetime, scale: float = 1.0) -> None:
    """Raise ``RateLimited`` if ``subject`` already used up ``action``'s limit, recording nothing
    (for counting only failures, e.g. wrong passwords: ``check`` first, ``record`` on failure)."""
    limit = LIMITS[action].scaled(scale)
    if limit is not None:
        _check(session, action, f"{action}:{subject}"[:200], limit, now, allowed=limit.count - 1)


def record(session: Session, action: str, subject: str, *, now: datetime) -> None:
    """Count one ``action`` by ``subject``, forgetting its events that left the window; now and
    then (one call in ``PRUNE_EVERY``) also everyone's, so one-off subjects leave no rows behind."""
    key = f"{action}:{subject}"[:200]
    session.execute(delete(_events).where(_events.c.key == key, _events.c.created_at < now - LIMITS[action].window))
    session.execute(insert(_events).values(key=key, created_at=now))
    if random.randrange(PRUNE_EVERY) == 0:
        prune(session, now=now)


def prune(session: Session, *, now: datetime) -> int:
    """Delete every event older than the longest window; returns how many."""
    longest = max(limit.window for limit in LIMITS.values())
    return session.execute(delete(_events).where(_events.c.created_at < now - longest)).rowcount


def _check(session: Session, action: str, key: str, limit: Limit, now: datetime, *, allowed: int) -> None:
    since = now - limit.window
    count, oldest = session.execute(
        select(func.count(), func.min(_events.c.created_at)).where(_events.c.key == key, _events.c.created_at >= since)
    ).one()
    if count > allowed:
        retry_after = max(1, math.ceil((oldest + limit.window - now).total_seconds())) if oldest else 1
        raise RateLimited(action.removesuffix("_ip"), retry_after, limit)
