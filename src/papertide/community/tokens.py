"""Personal API tokens: how scripts act as their owner without a browser's cookie and CSRF token.

A token is ``pt_`` and 43 random characters, shown once when made; only its SHA-256 is kept. It has
a scope: ``read`` (what the owner sees, e.g. their own digest subscription) or ``write`` (also
vote, comment, submit and manage subscriptions). Its actions count against the owner's rate limits,
as the owner's own would. Revoking deletes it. A blocked owner's tokens stop working with them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papertide.community.accounts import Account, get_user
from papertide.community.errors import CommunityError
from papertide.community.models import ApiToken
from papertide.community.sessions import digest

PREFIX = "pt_"
SCOPES = ("read", "write")
MAX_TOKENS = 20  # per account
MAX_NAME = 100
# Each use would be a write; knowing the last use to within minutes is enough.
LAST_USED_PRECISION = timedelta(minutes=10)


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner's account page lists it (never the token itself)."""

    id: int
    name: str
    scope: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for, and what it may do."""

    account: Account
    scope: str
    token_id: int
    name: str

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


def _info(token: ApiToken) -> TokenInfo:
    return TokenInfo(token.id, token.name, token.scope, token.hint, token.created_at, token.last_used_at)


def create(session: Session, user_id: int, name: str, scope: str, *, now: datetime) -> tuple[str, TokenInfo]:
    """A new token for ``user_id``: (the token, to show once; what the account page lists)."""
    name = " ".join((name or "").split())[:MAX_NAME]
    if not name:
        raise CommunityError("give the token a name, e.g. the script that will use it")
    if scope not in SCOPES:
        raise CommunityError("a token's scope is read or write")
    if session.scalar(select(func.count()).where(ApiToken.user_id == user_id)) >= MAX_TOKENS:
        raise CommunityError(f"an account has at most {MAX_TOKENS} tokens; revoke one first")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, scope=scope, token_hash=digest(secret), hint=secret[:7], created_at=now)
    session.add(token)
    session.flush()
    return secret, _info(token)


def listing(session: Session, user_id: int) -> list[TokenInfo]:
    return [_info(t) for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))]


def revoke(session: Session, user_id: int, token_id: int) -> bool:
    """Delete one of ``user_id``'s tokens; False if it has no such token."""
    return session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)).rowcount > 0


def authenticate(session: Session, secret: str, *, now: datetime) -> Bearer | None:
    """The owner and scope of ``secret`` if it is a live token of an active account, else None."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None:
        return None
    account = get_user(session, token.user_id)
    if account is None or account.is_blocked:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token.last_used_at = now
    return Bearer(account, token.scope, token.id, token.name)
