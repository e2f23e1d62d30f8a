"""Forgotten passwords: ask for a link by email, follow it, choose a new password.

Its own module, like the digest's pages, because its rules are its own: the link in the email
stands in for logging in, so the pages work for anonymous visitors; asking answers the same
whether or not the account exists, and the email goes out after the answer (a background task),
so not even the time taken tells; asking and using links are rate-limited like logging in
(``ratelimit``'s "reset" limits). The tokens are ``community.password_reset``'s; the email is
composed and sent through the digest's mail settings and SMTP delivery.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papertide.community import accounts, password_reset, ratelimit
from papertide.community.errors import CommunityError
from papertide.config import Settings
from papertide.digest.compose import Composer
from papertide.digest.delivery import DeliveryError, SmtpMailer
from papertide.web import deps, security
from papertide.web.answers import rate_scale, wants_json
from papertide.web.rendering import render
from papertide.web.session import flash, session_only

router = APIRouter(tags=["accounts"], dependencies=[Depends(security.verify_csrf), Depends(session_only)],
                   include_in_schema=False)  # a browser's forms: never with an API token
log = logging.getLogger(__name__)

Identifier = Annotated[str, Form(max_length=password_reset.MAX_IDENTIFIER)]
Token = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]
MINUTES = int(password_reset.LIFETIME.total_seconds() // 60)
SENT = ("If an account has that name or address and an email address to write to, a link to choose a new "
        f"password is on its way. It works once, for {MINUTES} minutes.")
# The reset page carries its token in the address: no caching, and no Referer with it to other
# sites ("same-origin", not "no-referrer": with that, browsers send "Origin: null" on its form).
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def send_reset_email(settings: Settings, link: password_reset.ResetLink) -> None:
    """Compose and send the link (run after the answer went out). A mail server that refuses is
    logged: telling the visitor would tell them the account exists."""
    url = f"{settings.base_url.rstrip('/')}/password/reset?token={quote(link.token)}"
    message = Composer(settings).password_reset(link.email, link.username, url, MINUTES)
    try:
        with SmtpMailer(settings) as mailer:
            mailer.send(message, link.email)
    except DeliveryError as error:
        log.warning("the password reset email for %s was not sent: %s", link.username, error)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, username: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    return render(request, "password_forgot.html", identifier=username)


@router.post("/password/forgot")
def ask_for_link(request: Request, background: BackgroundTasks, identifier: Identifier) -> Response:
    now, scale = deps.now(request), rate_scale(request)
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "reset_ip", f"ip:{security.client_address(request)}", now=now, scale=scale)
            ratelimit.hit(session, "reset", f"name:{identifier.strip().lower()}", now=now, scale=scale)
            link = password_reset.start_reset(session, identifier, now=now)
    except ratelimit.RateLimited as refused:
        headers = security.rate_limit_headers(refused)
        if wants_json(request):
            return JSONResponse({"error": str(refused)}, status_code=429, headers=headers)
        page = render(request, "password_forgot.html", 429, identifier=identifier, error=str(refused))
        page.headers.update(headers)
        return page
    if link is not None:
        background.add_task(send_reset_email, deps.settings(request), link)
    if wants_json(request):
        return JSONResponse({"status": "sent_if_known", "message": SENT}, status_code=202)
    return render(request, "notice.html", heading="Check your inbox", text=SENT)


def _bad_link(request: Request, message: str, status: int = 400, heading: str = "This link does not work",
              headers: dict[str, str] | None = None) -> HTMLResponse:
    page = render(request, "notice.html", status, heading=heading, text=message,
                  error=True, link={"url": "/password/forgot", "text": "Ask for a new link"})
    page.headers.update({**PRIVATE, **(headers or {})})
    return page


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The form for the new password, if the link still works (looking at it spends nothing)."""
    try:
        with deps.database(request).session() as session:
            username = password_reset.check(session, token, now=deps.now(request))
    except password_reset.InvalidResetLink as problem:
        return _bad_link(request, str(problem))
    page = render(request, "password_reset.html", token=token, username=username, min_password=accounts.MIN_PASSWORD)
    page.headers.update(PRIVATE)
    return page


@router.post("/password/reset")
def reset(request: Request, token: Token, new_password: Password) -> Response:
    """Spend the link, set the password, end every session of the account; then log in."""
    now, scale, by_address = deps.now(request), rate_scale(request), f"ip:{security.client_address(request)}"
    try:
        with deps.database(request).session() as session:
            ratelimit.check(session, "reset_ip", by_address, now=now, scale=scale)
            try:
                account = password_reset.reset_password(session, token, new_password, now=now)
            except password_reset.InvalidResetLink:  # a bad link counts, so links cannot be guessed at speed
                ratelimit.record(session, "reset_ip", by_address, now=now)
                session.commit()
                raise
    except ratelimit.RateLimited as refused:
        return _bad_link(request, str(refused), 429, "Too many attempts", security.rate_limit_headers(refused))
    except password_reset.InvalidResetLink as problem:
        return _bad_link(request, str(problem))
    except CommunityError as problem:  # a weak password: the same form again, the link still unspent
        try:
            with deps.database(request).session() as session:
                username = password_reset.check(session, token, now=now)
        except password_reset.InvalidResetLink as gone:  # it expired meanwhile
            return _bad_link(request, str(gone))
        page = render(request, "password_reset.html", problem.status, token=token, username=username,
                      min_password=accounts.MIN_PASSWORD, error=str(problem))
        page.headers.update(PRIVATE)
        return page
    if wants_json(request):
        return JSONResponse({"username": account.username})
    flash(request, "Your password is changed, and every device that was signed in is signed out. Log in with it now.",
          "success")
    return RedirectResponse(f"/login?username={quote(account.username)}", status_code=303)
