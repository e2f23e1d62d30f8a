"""How a state-changing endpoint answers, in the shape its caller wants, and who is asking:

* an htmx request (``HX-Request``) gets the HTML fragment to swap in, or the error text with its
  status and ``HX-Reswap: none``;
* a request that accepts JSON gets JSON;
* a plain form post gets a 303 redirect back, with a flash message on errors.

Shared by the site's actions (``web.actions``), the comment thread (``web.threads``) and password
resets (``web.password_reset``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape

from papertide.community import ratelimit
from papertide.community.accounts import Account
from papertide.web import deps, security
from papertide.web.session import bearer_token, current_user, flash, safe_next


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_json(request: Request) -> bool:
    """Scripts: those asking for JSON, and any request made with an API token."""
    return ("application/json" in request.headers.get("accept", "") or bearer_token(request) is not None) and not is_htmx(request)


def who(request: Request, *, admin: bool = False) -> Account | Response:
    """The account making the request, or the answer to give instead: a redirect to the log-in
    page (forms), ``HX-Redirect`` (htmx) or 401 (JSON); 403 for non-moderators on admin actions."""
    account = current_user(request)
    if account is None:
        referer = urlsplit(request.headers.get("referer", "")).path or "/"
        target = f"/login?next={quote(safe_next(referer))}"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if wants_json(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        return RedirectResponse(target, status_code=303)
    if admin and not account.is_admin:
        return fail(request, 403, "only moderators can do that", "/")
    return account


def fail(request: Request, status: int, message: str, back: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal: the message in the caller's shape, and for a plain form a redirect to ``back``."""
    if is_htmx(request):
        return HTMLResponse(f'<p class="form-error" role="alert">{escape(message)}</p>', status_code=status,
                            headers={"HX-Reswap": "none", "HX-Trigger": "papertide-error", **(headers or {})})
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    flash(request, message)
    return RedirectResponse(back, status_code=303)


def limited(request: Request, refused: ratelimit.RateLimited, back: str) -> Response:
    return fail(request, 429, str(refused), back, security.rate_limit_headers(refused))


def rate_scale(request: Request) -> float:
    return deps.settings(request).rate_limit_scale


def done(request: Request, target: str, payload: dict[str, Any]) -> Response:
    """Success: htmx is sent to ``target`` (``HX-Redirect``), JSON gets ``payload``, a form a 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    if wants_json(request):
        return JSONResponse(payload)
    return RedirectResponse(target, status_code=303)
