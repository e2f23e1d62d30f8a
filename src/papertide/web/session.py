"""What a visitor's signed session carries between requests: who they are, the messages for
their next page, and where a form may send them back to.

The session itself is Starlette's signed cookie (``security.install`` sets it up); these helpers
are the only code that reads or writes it, apart from the CSRF token, which ``security`` owns.
Pages and actions both use them, so they live here rather than in either.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from papertide.community import accounts
from papertide.community.accounts import Account
from papertide.web import deps, security

_UNKNOWN = object()


# ---------------------------------------------------------------------------------------------
# Who is asking


def current_user(request: Request) -> Account | None:
    """The logged-in, non-blocked account of this request, or None. Usable as a dependency;
    looked up once per request."""
    cached = getattr(request.state, "papertide_user", _UNKNOWN)
    if cached is not _UNKNOWN:
        return cached
    account = None
    user_id = request.session.get("uid") if "session" in request.scope else None
    if isinstance(user_id, int):
        with deps.database(request).session() as session:
            account = accounts.get_user(session, user_id)
        if account is None or account.is_blocked or account.session_epoch != request.session.get("epoch", 0):
            request.session.clear()  # blocked, or signed out everywhere / password changed since
            account = None
    request.state.papertide_user = account
    return account


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
    request.session.clear()
    request.session.update(uid=account.id, epoch=account.session_epoch)
    security.renew_csrf_token(request)
    request.state.papertide_user = account


def end_session(request: Request) -> None:
    """Log out: nothing of the session survives."""
    request.session.clear()
    request.state.papertide_user = None


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
