"""Who is asking: a browser's session or a script's API token; the messages for a visitor's next
page, and where a form may send them back to.

The session is Starlette's signed cookie (``security.install`` sets it up), naming a session the
server keeps (``community.sessions``: logging out deletes it, so a copied cookie dies with it); these
helpers are the only code that reads or writes it, apart from the CSRF token, which ``security``
owns. A script sends ``Authorization: Bearer <token>`` instead (``community.tokens``), and
``verify_write``, the one dependency of every state-changing route, lets a write-scoped token
through where a browser must show its CSRF token. Pages and actions both use these, so they live
here rather than in either.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from papertide.community import ratelimit, sessions, tokens
from papertide.community.accounts import Account
from papertide.web import deps, security

_UNKNOWN = object()


# ---------------------------------------------------------------------------------------------
# Who is asking


def bearer_token(request: Request) -> str | None:
    """The API token of ``Authorization: Bearer <token>``, if the request carries one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_user(request: Request) -> Account | None:
    """The non-blocked account of this request (by API token, else by session), or None. Usable as
    a dependency; looked up once per request. A token that is wrong or revoked is a 401, and
    counts as a failed log-in of the client's address."""
    cached = getattr(request.state, "papertide_user", _UNKNOWN)
    if cached is not _UNKNOWN:
        return cached
    token = bearer_token(request)
    account = _token_account(request, token) if token is not None else _session_account(request)
    request.state.papertide_user = account
    return account


def _token_account(request: Request, token: str) -> Account:
    now, scale = deps.now(request), deps.settings(request).rate_limit_scale
    by_address = f"ip:{security.client_address(request)}"
    with deps.database(request).session() as session:
        try:
            ratelimit.check(session, "login_ip", by_address, now=now, scale=scale)
        except ratelimit.RateLimited as limited:
            raise HTTPException(429, str(limited), headers=security.rate_limit_headers(limited)) from None
        bearer = tokens.authenticate(session, token, now=now)
        if bearer is None:
            ratelimit.record(session, "login_ip", by_address, now=now)
    if bearer is None:
        raise HTTPException(401, "this API token is not valid (wrong, or revoked)",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.papertide_bearer = bearer
    return bearer.account


def _session_account(request: Request) -> Account | None:
    if "session" not in request.scope or "uid" not in request.session:
        return None
    with deps.database(request).session() as session:
        return session_account(request, session)


def session_account(request: Request, session: Session | Connection) -> Account | None:
    """The account of the request's session cookie, read through ``session`` (the signed-in
    reader's fast path reads their votes through the same connection), and remembered for the
    request. A session that ended, or a blocked account, clears the cookie's session."""
    user_id, key = request.session.get("uid"), request.session.get("sid")
    account = None
    if isinstance(user_id, int) and isinstance(key, str):
        account = sessions.account_of(session, user_id, key, now=deps.now(request))
    if account is None or account.is_blocked or account.session_epoch != request.session.get("epoch", 0):
        request.session.clear()  # logged out, blocked, or signed out everywhere / password changed since
        account = None
    request.state.papertide_user = account
    return account


def check_token(request: Request) -> None:
    """Dependency of the read routes: a request that sends a token must send a valid one (a 401
    says so), even where anyone may read; without one it is anonymous as before."""
    if bearer_token(request) is not None:
        current_user(request)


async def verify_write(request: Request) -> None:
    """Dependency for every state-changing route: a write-scoped API token, or else the session's
    CSRF token sent from this site (``security.verify_csrf``). A token needs no CSRF check: a
    browser never adds an ``Authorization`` header to a request another site makes it send."""
    if bearer_token(request) is None:
        await security.verify_csrf(request)
        return
    await run_in_threadpool(current_user, request)
    if not request.state.papertide_bearer.can_write:
        raise HTTPException(403, "this API token is read-only; make a write token on your account page")


def session_only(request: Request) -> None:
    """Dependency of the account's own forms (log in and out, password, devices, tokens): no API
    token may do these, so a leaked token cannot make more tokens or lock its owner out."""
    if bearer_token(request) is not None:
        raise HTTPException(403, "API tokens cannot manage the account; use the account page")


def require_user(request: Request) -> Account:
    """Dependency: the account, or 401."""
    account = current_user(request)
    if account is None:
        raise HTTPException(status_code=401, detail="log in first")
    return account


def require_admin(request: Request) -> Account:
    """Dependency: a moderator's account, or 401 / 403."""
    account = require_user(request)
    if not account.is_admin:
        raise HTTPException(status_code=403, detail="only moderators can do that")
    return account


def start_session(request: Request, account: Account) -> None:
    """Log ``account`` in: a fresh session (and a new CSRF token), so no session fixation."""
    with deps.database(request).session() as session:
        key = sessions.begin(session, account.id, now=deps.now(request))
    request.session.clear()
    request.session.update(uid=account.id, epoch=account.session_epoch, sid=key)
    security.renew_csrf_token(request)
    request.state.papertide_user = account


def end_session(request: Request) -> None:
    """Log out: the server forgets the session, so no copy of the cookie opens it again."""
    key = request.session.get("sid") if "session" in request.scope else None
    if isinstance(key, str):
        with deps.database(request).session() as session:
            sessions.end(session, key)
    request.session.clear()
    request.state.papertide_user = None


def end_other_sessions(request: Request, account: Account) -> None:
    """Every session of ``account`` ends but this request's (after a password change, or on asking)."""
    with deps.database(request).session() as session:
        sessions.end_others(session, account.id, keep=request.session.get("sid"))


# ---------------------------------------------------------------------------------------------
# Messages for the next page, and where to go next


def flash(request: Request, message: str, level: str = "error") -> None:
    """Queue a message for the next page (``pop_flashes``)."""
    request.session.setdefault("flash", []).append({"level": level, "message": message[:500]})


def pop_flashes(request: Request) -> list[dict[str, str]]:
    """The queued messages, removed from the session (pages call this to show them)."""
    if "session" not in request.scope:
        return []
    return request.session.pop("flash", None) or []


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: ``next=https://evil.example`` or ``//evil`` becomes ``default``.

    Only printable ASCII without spaces passes: browsers drop tabs and newlines from a URL, so
    ``/\\t/evil.example`` would become ``//evil.example``, and a header cannot carry U+3000.
    """
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 500
            or not (target.isascii() and target.isprintable()) or " " in target):
        return default
    return target
