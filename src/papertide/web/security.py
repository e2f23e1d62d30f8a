"""The site's defences: the session cookie's settings, CSRF protection and security headers.

* **Sessions** are Starlette's signed-cookie sessions (itsdangerous, keyed by the configured
  secret): no server-side state, so any number of workers share them. The cookie is HttpOnly,
  SameSite=Lax, Secure when the site is served over https, and lasts 14 days. What a session
  carries (who is logged in, since which ``session_epoch``; flash messages) is ``web.session``'s.
* **CSRF**, one mechanism for every form on the site, the digest's included: each session carries
  a random token; every state-changing request must send it back, as the ``csrf_token`` form
  field or the ``X-CSRF-Token`` header (htmx), and must not come from another origin (``Origin`` /
  ``Sec-Fetch-Site``). The token is created lazily, when a page actually renders it, so anonymous
  pages without forms stay cookie-free and cacheable.
* **Headers**: a strict Content-Security-Policy (no inline script or style, no third-party
  origins), no framing, no MIME sniffing, a tight Referrer-Policy.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.community.ratelimit import RateLimited
from papertide.config import Settings
from papertide.web import deps

SESSION_COOKIE = "papertide_session"
SESSION_MAX_AGE = 14 * 24 * 3600
CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]] = SECURITY_HEADERS):
        self.app, self.headers = app, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Add signed-cookie sessions and, around them, the security headers (called by ``create_app``).

    Starlette runs the middleware added last first, so the headers wrap the session layer and
    every answer carries them. ``create_app`` adds the page cache after this, outermost: a cached
    answer keeps the headers it was rendered with.
    """
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    app.add_middleware(SecurityHeadersMiddleware)
    _drop_cdn_docs(app)


def _drop_cdn_docs(app: FastAPI) -> None:
    """FastAPI's built-in ``/docs`` pulls Swagger UI from a CDN with an inline script: blocked by
    the CSP above, and offline deployments have no CDN. Remove it so the vendored one
    (``papertide.web.api.docs``) answers ``/docs``."""
    if app.docs_url:
        builtin = {app.docs_url, app.swagger_ui_oauth2_redirect_url}
        app.router.routes[:] = [r for r in app.router.routes
                                if not (getattr(r, "path", None) in builtin and getattr(r, "name", "").startswith("swagger_ui"))]
        app.docs_url = None


# ---------------------------------------------------------------------------------------------
# Who is asking, by address, and what to tell those who ask too often


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def rate_limit_headers(limited: RateLimited) -> dict[str, str]:
    """``Retry-After`` and the ``RateLimit-*`` headers (IETF httpapi draft) of a refusal: the limit
    reached, none left, seconds until one is, and the policy as ``count;w=window-seconds``."""
    headers = {"Retry-After": str(limited.retry_after), "RateLimit-Remaining": "0",
               "RateLimit-Reset": str(limited.retry_after)}
    if limited.limit is not None:
        headers["RateLimit-Limit"] = str(limited.limit.count)
        headers["RateLimit-Policy"] = f"{limited.limit.count};w={int(limited.limit.window.total_seconds())}"
    return headers


# ---------------------------------------------------------------------------------------------
# CSRF


class CsrfToken:
    """The session's CSRF token, created only when rendered (``{{ csrf_token }}``) or ``str()``-ed,
    so a page that shows no form sets no cookie and stays cacheable."""

    __slots__ = ("_request",)

    def __init__(self, request: Request):
        self._request = request

    def __str__(self) -> str:
        session = self._request.session
        token = session.get(CSRF_SESSION_KEY)
        return token if isinstance(token, str) else renew_csrf_token(self._request)

    __html__ = __str__

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def renew_csrf_token(request: Request) -> str:
    """A new random token for this session (on log-in: a token seen before then is worthless)."""
    token = request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_token(request: Request) -> CsrfToken:
    """The token to put in forms (``<input type=hidden name=csrf_token value="{{ csrf_token }}">``)
    and in htmx headers (``hx-headers='{"X-CSRF-Token": "{{ csrf_token }}"}'``)."""
    return CsrfToken(request)


def _same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site. Browsers send
    ``Sec-Fetch-Site`` and ``Origin`` on cross-site POSTs; scripts may send neither (they still
    need the token)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":  # sandboxed frames, data: URLs
        return False
    allowed = {f"{request.url.scheme}://{request.url.netloc}".lower()}
    base = deps.settings(request).base_url
    parts = urlsplit(base)
    allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origin.lower().rstrip("/") in allowed


async def verify_csrf(request: Request) -> None:
    """Dependency for every state-changing route: 403 unless the request carries this session's
    CSRF token and comes from this site."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF_SESSION_KEY) if "session" in request.scope else None
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")
    if not _same_origin(request):
        raise HTTPException(status_code=403, detail="cross-site request refused")
