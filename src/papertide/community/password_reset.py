"""Password resets by email: a single-use link that expires, stored only as a digest.

The token is 32 random bytes (``secrets``), so a fast hash is enough to keep it: the table holds
SHA-256 digests, and a copy of the database opens no account. A token is spent by one atomic
``UPDATE ... WHERE used_at IS NULL AND expires_at > now``, so two racing uses cannot both win;
setting the password spends every other open link of that account too and, like a password
change, ends all its sessions.

Asking for a reset answers the same whether or not the account exists (the web layer's job);
this module only says whether there is someone to write to.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from papertide.community.accounts import Account, set_password
from papertide.community.errors import CommunityError
from papertide.community.models import PasswordResetToken, User

LIFETIME = timedelta(hours=1)
MAX_IDENTIFIER = 320
_tokens = PasswordResetToken.__table__


class InvalidResetLink(CommunityError):
    """The link was tampered with, has expired or was used already."""


@dataclass(frozen=True)
class ResetLink:
    """Who to write to, and the token for their link (known only here and in the email)."""

    username: str
    email: str
    token: str
    expires_at: datetime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _account_for(session: Session, identifier: str) -> User | None:
    """The account named by a username or an email address."""
    identifier = (identifier or "").strip()[:MAX_IDENTIFIER]
    if not identifier:
        return None
    column = User.email if "@" in identifier else User.username
    return session.scalar(select(User).where(func.lower(column) == identifier.lower()))


def start_reset(session: Session, identifier: str, *, now: datetime) -> ResetLink | None:
    """A new reset link for the account named by ``identifier``, or None when there is no one to
    write to (no such account, no address on it, or blocked)."""
    user = _account_for(session, identifier)
    if user is None or not user.email or user.is_blocked:
        return None
    session.execute(delete(_tokens).where(_tokens.c.user_id == user.id, _tokens.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(PasswordResetToken(user_id=user.id, token_hash=digest(token), created_at=now, expires_at=now + LIFETIME))
    return ResetLink(user.username, user.email, token, now + LIFETIME)


def _open(token: str, now: datetime):
    return (_tokens.c.token_hash == digest(token or ""), _tokens.c.used_at.is_(None), _tokens.c.expires_at > now)


def _usable_user(session: Session, user_id: int | None) -> User:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or user.is_blocked:
        raise InvalidResetLink("this reset link has expired or was already used; ask for a new one")
    return user


def check(session: Session, token: str, *, now: datetime) -> str:
    """The username a reset link is for (to show on its form); ``InvalidResetLink`` if it does not work."""
    user_id = session.scalar(select(_tokens.c.user_id).where(*_open(token, now)))
    return _usable_user(session, user_id).username


def reset_password(session: Session, token: str, new_password: str, *, now: datetime) -> Account:
    """Spend the token and set the new password; every session of the account ends.

    Raises ``InvalidResetLink`` for a spent, expired or unknown token and ``CommunityError`` for
    a weak password (the token is then left unspent, so the person can try another).
    """
    user = _usable_user(session, session.scalar(select(_tokens.c.user_id).where(*_open(token, now))))
    account = set_password(user, new_password)  # validates first: a refused password spends nothing
    spent = session.execute(update(_tokens).where(*_open(token, now)).values(used_at=now).returning(_tokens.c.id)).first()
    if spent is None:  # another request spent it between our read and this write
        raise InvalidResetLink("this reset link has expired or was already used; ask for a new one")
    session.execute(update(_tokens).where(_tokens.c.user_id == user.id, _tokens.c.used_at.is_(None)).values(used_at=now))
    return account
