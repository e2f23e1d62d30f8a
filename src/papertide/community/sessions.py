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

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.orm import Session

from papertide.community.accounts import Account
from papertide.community.models import AccountSession, User

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


# Built once: on this path (every signed-in page) building the statement cost more than running it.
_ACCOUNT_OF = (
    select(User.id, User.username, User.is_admin, User.is_blocked, User.session_epoch)
    .join(AccountSession, AccountSession.user_id == User.id)
    .where(User.id == bindparam("user_id"), AccountSession.key_hash == bindparam("key_hash"),
           AccountSession.created_at >= bindparam("since"))
)


def account_of(session: Session | Connection, user_id: int, key: str, *, now: datetime) -> Account | None:
    """The account whose live session a cookie names by (user id, key), in one query (every
    signed-in page asks, so it is one round trip rather than the session's and then the user's)."""
    row = session.execute(_ACCOUNT_OF, {"user_id": user_id, "key_hash": digest(key), "since": now - MAX_AGE}).first()
    return Account(row.id, row.username, row.is_admin, row.is_blocked, row.session_epoch or 0) if row else None


def end(session: Session, key: str) -> None:
    """Log one browser out (idempotent)."""
    session.execute(delete(AccountSession).where(AccountSession.key_hash == digest(key)))


def end_others(session: Session, user_id: int, keep: str | None) -> None:
    """Every session of ``user_id`` ends but the one whose key is ``keep``."""
    query = delete(AccountSession).where(AccountSession.user_id == user_id)
    if keep:
        query = query.where(AccountSession.key_hash != digest(keep))
    session.execute(query)
