"""Logged-in browsers, kept on the server so that logging out really ends one.

The session cookie is signed, so nobody can forge one, but a signature cannot be taken back: a
copy of the cookie kept working after ``POST /logout`` until it expired. Now each log-in makes a
row holding the SHA-256 of a random key the cookie carries, and a request is logged in only while
that row exists. Logging out deletes it; "sign out everywhere else" deletes the others.
Sessions last ``MAX_AGE`` from log-in, however active.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from papertide.community.models import AccountSession

MAX_AGE = timedelta(days=14)


def digest(secret: str) -> str:
    """How a session key or an API token is stored: its SHA-256, in hex. A fast hash suffices for
    256 random bits, which no one can guess; it only has to make a stolen table useless."""
    return hashlib.sha256(secret.encode()).hexdigest()


def begin(session: Session, user_id: int, *, now: datetime) -> str:
    """A new session for ``user_id``; returns the key for the cookie (stored only as a digest).
    Sessions past their age are deleted on the way."""
    session.execute(delete(AccountSession).where(AccountSession.created_at < now - MAX_AGE))
    key = secrets.token_urlsafe(32)
    session.add(AccountSession(user_id=user_id, key_hash=digest(key), created_at=now))
    return key


def is_live(session: Session, user_id: int, key: str, *, now: datetime) -> bool:
    """Whether the session a cookie names by (user id, key) still lives."""
    return session.scalar(
        select(AccountSession.id).where(AccountSession.user_id == user_id, AccountSession.key_hash == digest(key),
                                        AccountSession.created_at >= now - MAX_AGE)
    ) is not None


def end(session: Session, key: str) -> None:
    """Log one browser out (idempotent)."""
    session.execute(delete(AccountSession).where(AccountSession.key_hash == digest(key)))


def end_others(session: Session, user_id: int, keep: str | None) -> None:
    """Every session of ``user_id`` ends but the one whose key is ``keep``."""
    query = delete(AccountSession).where(AccountSession.user_id == user_id)
    if keep:
        query = query.where(AccountSession.key_hash != digest(keep))
    session.execute(query)
