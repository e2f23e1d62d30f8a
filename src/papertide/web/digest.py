"""Digest pages and API: subscribe (double opt-in), confirm, unsubscribe (RFC 8058 one-click),
preferences, previews.

One module rather than a page module plus actions, because the digest's rules differ from the
site's: a signed link in an email stands in for logging in (confirm, preferences, unsubscribe),
the confirm link acts on a GET, and the one-click unsubscribe is posted by mail clients without a
cookie, so it carries no CSRF token. The two forms (subscribe, preferences) pass the site's one
write check (``session.verify_write``: the CSRF token, or a write-scoped API token) like every
other form. It holds no SQL: the digest services do the work.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from papertide.community import ratelimit
from papertide.config import Settings
from papertide.db import Database
from papertide.digest import interests, subscriptions
from papertide.digest.delivery import DeliveryError
from papertide.digest.preview import preview_digest
from papertide.digest.schedule import parse_timezone
from papertide.digest.subscriptions import Preferences, SubscriptionError
from papertide.digest.tokens import DigestTokens, InvalidToken
from papertide.web import deps, security
from papertide.web.errors import error_responses, json_error
from papertide.web.rendering import render
from papertide.web.session import current_user, verify_write

router = APIRouter(tags=["digests"])

STATUS_TEXT = {
    "pending": "waiting for you to click the confirmation link we emailed.",
    "confirmed": "active.",
    "unsubscribed": "unsubscribed; saving subscribes you again after a confirmation email.",
    "bounced": "paused: your mail server refused our last digest. Saving sends a new confirmation link.",
}


# The email's HTML is shown in a sandboxed frame of the preview page: it may style itself inline
# (as emails must) but run nothing, load nothing from elsewhere, and be framed only by this site.
EMAIL_PREVIEW_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}


# --- helpers -----------------------------------------------------------------------------------

def _page(request: Request, settings: Settings, name: str, status: int = 200, **context):
    """A digest page in the site's layout; its forms print the site's ``csrf_token``. A page with
    the preference fields gets the names of the organisations they follow, for their chips."""
    if "prefs" in context:
        context["org_names"] = interests.organization_names(deps.database(request), list(context["prefs"].organizations))
    return render(request, f"digest/{name}", status, base_url=settings.base_url, **context)


def _notice(request, settings, heading, text, status=200, error=False, link=None):
    """A short message page (the site's ``notice.html``, shared with the password reset)."""
    return render(request, "notice.html", status, heading=heading, text=text, error=error, link=link)


def _lines(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").replace(",", "\n").splitlines() if part.strip()]


def _entries(form, name: str, *, commas: bool = False) -> list[str]:
    """Every value sent as ``name``: the ticked chips and the field to add one (a line each)."""
    found = []
    for value in form.getlist(name):
        text = str(value or "").replace(",", "\n") if commas else str(value or "")
        found.extend(part.strip() for part in text.splitlines() if part.strip())
    return found


def _form_prefs(form) -> SimpleNamespace:
    """The preferences as sent (for showing the form again as it was, errors and all)."""
    return SimpleNamespace(
        frequency=form.get("frequency") or "daily", content=form.get("content") or "trending",
        topics=_lines(form.get("topics")), organizations=_entries(form, "organizations", commas=True),
        authors=_entries(form, "authors"), max_papers=form.get("max_papers") or 10,
    )


def _checked_preferences(database: Database, form) -> Preferences:
    """The form's preferences, with what they follow checked against the catalog; raises
    ``ValidationError`` or ``SubscriptionError`` with a message for the reader."""
    return interests.check_interests(database, Preferences(**vars(_form_prefs(form))))


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    return f"{where.replace('_', ' ')}: {message}" if where else message


def limited_subscribe(request: Request, database: Database, settings: Settings, email: str, preferences: Preferences,
               user) -> subscriptions.SubscribeRequest:
    """Every way of subscribing goes through here: at most ``ratelimit.LIMITS["subscribe"]``
    requests per client address (one client made the site mail 30 strangers in 10 s), and the
    service caps the confirmation emails of all of them together."""
    now = deps.now(request)
    with database.session() as session:
        ratelimit.hit(session, "subscribe", f"ip:{security.client_address(request)}", now=now,
                      scale=settings.rate_limit_scale)
    return subscriptions.subscribe(database, settings, email, preferences, user_id=getattr(user, "id", None), now=now)


def _limited_page(request: Request, settings: Settings, limited: ratelimit.RateLimited):
    answer = _notice(request, settings, "Too many requests", f"{limited}.", 429, error=True)
    answer.headers.update(security.rate_limit_headers(limited))
    return answer


SENT_TEXT = ("If {email} can receive digests, a confirmation link is on its way. "
             "Click it to start receiving them; nothing is sent before that.")


# --- subscribing -------------------------------------------------------------------------------

@router.get("/subscribe", response_class=HTMLResponse, include_in_schema=False)
def subscribe_form(request: Request, settings: Settings = Depends(deps.settings), user=Depends(current_user)):
    if user is not None:
        return RedirectResponse(f"{settings.base_url}/settings/digest", status_code=303)
    return _page(request, settings, "subscribe.html", prefs=Preferences(), email="")


@router.post("/subscribe", response_class=HTMLResponse, dependencies=[Depends(verify_write)], include_in_schema=False)
async def subscribe_submit(request: Request, database: Database = Depends(deps.database),
                           settings: Settings = Depends(deps.settings), user=Depends(current_user)):
    form = await request.form()
    email = str(form.get("email") or "")
    try:
        preferences = await run_in_threadpool(_checked_preferences, database, form)
        result = await run_in_threadpool(limited_subscribe, request, database, settings, email, preferences, user)
    except (ValidationError, SubscriptionError) as error:
        message = _validation_message(error) if isinstance(error, ValidationError) else str(error)
        return _page(request, settings, "subscribe.html", 400, error=message, email=email,
                     prefs=_form_prefs(form))
    except ratelimit.RateLimited as limited:
        return _limited_page(request, settings, limited)
    except DeliveryError:
        return _notice(request, settings, "We could not send the email",
                       "Our mail server did not take the confirmation email. Please try again in a few minutes.", 503, error=True)
    return _notice(request, settings, "Check your inbox", SENT_TEXT.format(email=result.email))


# What the API takes as an address, in its schema and in fact: a dot-atom local part, a domain of
# dotted labels ending in a letter-led one; not a name reserved for special use or an IDNA label
# (email-validator refuses those). The form takes what email-validator takes.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# At most 64 characters before the @ (RFC 5321): a lookahead, so Python checks it, not pydantic's engine.
EMAIL_PATTERN = rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?$"
UNDELIVERABLE = r"\.(?:[Aa][Rr][Pp][Aa]|[Ii][Nn][Vv][Aa][Ll][Ii][Dd]|[Ll][Oo][Cc][Aa][Ll]|[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|[Oo][Nn][Ii][Oo][Nn]|[Tt][Ee][Ss][Tt])$|[@.][Xx][Nn]--"


class SubscribeBody(Preferences):
    email: str = Field(max_length=254, json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN,
                                                          "not": {"pattern": UNDELIVERABLE}})


class SubscriptionAccepted(BaseModel):
    status: Literal["confirmation_sent"]
    email: str
    message: str


@router.post("/api/subscriptions", status_code=202, summary="Subscribe an address to the digest (double opt-in)",
             response_model=SubscriptionAccepted, responses=error_responses(404, 422, 429, 503))
def api_subscribe(request: Request, body: SubscribeBody, database: Database = Depends(deps.database), settings: Settings = Depends(deps.settings)):
    """Subscribe an address. Double opt-in: the answer is the same whatever the address's state,
    and nothing is sent before the owner clicks the link in the confirmation email."""
    preferences = Preferences.model_validate(body.model_dump(exclude={"email"}))
    if not re.fullmatch(EMAIL_PATTERN, body.email) or re.search(UNDELIVERABLE, body.email):
        return json_error(422, "that does not look like an address that can receive email")
    try:
        preferences = interests.check_interests(database, preferences)
        result = limited_subscribe(request, database, settings, body.email, preferences, None)
    except interests.UnknownInterests as error:
        return json_error(404, str(error))
    except SubscriptionError as error:
        return json_error(422, str(error))
    except ratelimit.RateLimited as limited:
        return json_error(429, str(limited), headers=security.rate_limit_headers(limited))
    except DeliveryError:
        return json_error(503, "the confirmation email could not be sent; try again later")
    return {"status": "confirmation_sent", "email": result.email, "message": SENT_TEXT.format(email=result.email)}


@router.get("/subscribe/confirm", response_class=HTMLResponse, include_in_schema=False)
def confirm(request: Request, token: str = "", database: Database = Depends(deps.database),
            settings: Settings = Depends(deps.settings)):
    try:
        subject = DigestTokens(settings.secret_key).read_confirm(token)
    except InvalidToken as error:
        return _notice(request, settings, "This link does not work", str(error), 400, error=True,
                       link={"url": f"{settings.base_url}/subscribe", "text": "Subscribe again"})
    subscription = subscriptions.confirm(database, subject.subscription_id, subject.email)
    if subscription is None:
        return _notice(request, settings, "This link does not work", "This subscription no longer exists.", 404, error=True)
    manage = DigestTokens(settings.secret_key).manage(subscription.id, subscription.email)
    return _notice(request, settings, "You are subscribed",
                   f"{subscription.email} will get the {subscription.frequency} digest from the next one on.",
                   link={"url": f"{settings.base_url}/settings/digest?token={manage}", "text": "Choose what it holds"})


# --- unsubscribing -----------------------------------------------------------------------------

@router.get("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, token: str = "", settings: Settings = Depends(deps.settings)):
    """A page with one button: link scanners that fetch every URL in an email must not unsubscribe."""
    try:
        subject = DigestTokens(settings.secret_key).read_unsubscribe(token)
    except InvalidToken as error:
        return _notice(request, settings, "This link does not work", str(error), 400, error=True)
    return _page(request, settings, "unsubscribe.html", email=subject.email,
                 action=f"{settings.base_url}/unsubscribe?token={token}")


@router.post("/unsubscribe", include_in_schema=False)  # RFC 8058 one-click: mail clients, not scripts
def unsubscribe(request: Request, token: str = "", database: Database = Depends(deps.database),
                settings: Settings = Depends(deps.settings)):
    """RFC 8058 one-click (a mail client POSTs ``List-Unsubscribe=One-Click``) and the page's button.
    The signed token is the authentication: no login, no CSRF token (the action is harmless to forge)."""
    try:
        subject = DigestTokens(settings.secret_key).read_unsubscribe(token)
    except InvalidToken as error:
        return PlainTextResponse(str(error), status_code=400)
    if not subscriptions.unsubscribe(database, subject.subscription_id, subject.email):
        return PlainTextResponse("this subscription no longer exists", status_code=404)
    if "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse(f"{subject.email} is unsubscribed")
    return _notice(request, settings, "You are unsubscribed", f"{subject.email} will get no more digests.",
                   link={"url": f"{settings.base_url}/subscribe", "text": "Changed your mind? Subscribe again"})


# --- preferences -------------------------------------------------------------------------------

def _user_email(database: Database, user) -> str | None:
    """The logged-in reader's address: the session's account carries none, so the subscriptions
    service reads it."""
    return subscriptions.account_email(database, user.id)


def _settings_target(request: Request, database: Database, settings: Settings, user, token: str | None):
    """(subscription or None, email for a new one) for a logged-in user or a preferences link;
    raises ``InvalidToken`` for a bad link, ``PermissionError`` for neither."""
    if token:
        subject = DigestTokens(settings.secret_key).read_manage(token)
        subscription = subscriptions.get(database, subject.subscription_id)
        if subscription is None or subscription.email != subject.email:
            raise InvalidToken("this preferences link is not valid any more")
        return subscription, subscription.email
    if user is None:
        raise PermissionError
    email = _user_email(database, user)
    return subscriptions.for_user(database, user.id, email), email


def _settings_page(request, settings, subscription, email, token, status=200, **extra):
    tokens = DigestTokens(settings.secret_key)
    query = f"?token={token}" if token else ""
    return _page(
        request, settings, "settings.html", status, subscription=subscription, email=email,
        prefs=extra.pop("prefs", None) or (Preferences.of(subscription) if subscription else Preferences()),
        status_text=STATUS_TEXT.get(subscription.status, subscription.status) if subscription else "",
        action=f"{settings.base_url}/settings/digest{query}",
        unsubscribe_url=f"{settings.base_url}/unsubscribe?token={tokens.unsubscribe(subscription.id, subscription.email)}"
        if subscription else "",
        **extra,
    )


@router.get("/settings/digest", response_class=HTMLResponse, include_in_schema=False)
def settings_page(request: Request, token: str | None = None, database: Database = Depends(deps.database),
                  settings: Settings = Depends(deps.settings), user=Depends(current_user)):
    try:
        subscription, email = _settings_target(request, database, settings, user, token)
    except InvalidToken as error:
        return _notice(request, settings, "This link does not work", str(error), 400, error=True)
    except PermissionError:
        return _notice(request, settings, "Log in to manage your digest",
                       "Log in, or use the preferences link at the bottom of any digest.", 401,
                       link={"url": f"{settings.base_url}/subscribe", "text": "Or subscribe with your email"})
    return _settings_page(request, settings, subscription, email, token, saved=request.query_params.get("saved"))


@router.post("/settings/digest", response_class=HTMLResponse, dependencies=[Depends(verify_write)], include_in_schema=False)
async def settings_save(request: Request, token: str | None = None, database: Database = Depends(deps.database),
                        settings: Settings = Depends(deps.settings), user=Depends(current_user)):
    form = await request.form()
    try:
        subscription, email = _settings_target(request, database, settings, user, token)
    except InvalidToken as error:
        return _notice(request, settings, "This link does not work", str(error), 400, error=True)
    except PermissionError:
        return _notice(request, settings, "Log in to manage your digest", "Your session has ended; log in again.", 401, error=True)
    try:
        preferences = await run_in_threadpool(_checked_preferences, database, form)
    except (ValidationError, SubscriptionError) as error:
        message = _validation_message(error) if isinstance(error, ValidationError) else str(error)
        return _settings_page(request, settings, subscription, email, token, 400, error=message, prefs=_form_prefs(form),
                              typed_email=str(form.get("email") or ""))
    if subscription is not None and subscription.status in ("confirmed", "pending"):
        subscriptions.update_preferences(database, subscription.id, preferences)
        query = f"token={token}&saved=1" if token else "saved=1"
        return RedirectResponse(f"{settings.base_url}/settings/digest?{query}", status_code=303)
    address = email or str(form.get("email") or "").strip()  # an account without one gives it here
    if not address:
        return _settings_page(request, settings, subscription, email, token, 400, prefs=_form_prefs(form),
                              error="Give the address the digest should go to.")
    try:
        result = await run_in_threadpool(limited_subscribe, request, database, settings, address, preferences, user)
    except SubscriptionError as error:
        return _settings_page(request, settings, subscription, email, token, 400, error=str(error),
                              prefs=_form_prefs(form), typed_email=address)
    except ratelimit.RateLimited as limited:
        return _limited_page(request, settings, limited)
    except DeliveryError:
        return _notice(request, settings, "We could not send the email",
                       "Our mail server did not take the confirmation email. Please try again in a few minutes.", 503, error=True)
    return _notice(request, settings, "Check your inbox", SENT_TEXT.format(email=result.email))


# --- previews ----------------------------------------------------------------------------------

@router.get("/digest/preview", response_class=HTMLResponse, include_in_schema=False)
def preview(request: Request, subscriber: str | None = None, frequency: str | None = None, format: str = "page",
            database: Database = Depends(deps.database), settings: Settings = Depends(deps.settings), user=Depends(current_user)):
    """A sample digest for visitors; with ``?subscriber=ID`` (admins only) that subscriber's next one.
    ``format=html`` or ``text`` returns the email's part as is."""
    subscription = None
    if subscriber:
        if user is None or not getattr(user, "is_admin", False):
            return _notice(request, settings, "Admins only", "Only administrators can preview a subscriber's digest.", 403, error=True)
        subscription = subscriptions.find(database, subscriber)
        if subscription is None:
            return _notice(request, settings, "No such subscriber", f"No subscription {subscriber}.", 404, error=True)
    if frequency not in (None, "daily", "weekly"):
        frequency = None
    today = datetime.now(parse_timezone(settings.digest_timezone)).date()
    result = preview_digest(database, settings, subscription, today=today, frequency=frequency)
    if result is None:
        return _notice(request, settings, "Nothing to preview yet", "No papers are on the list yet.", 404)
    if format == "text":
        return PlainTextResponse(result.part("plain"))
    if format == "html":  # the email as mail clients see it: inline styles, so a policy of its own
        return HTMLResponse(result.part("html"), headers=EMAIL_PREVIEW_HEADERS)
    heading = f"Next digest for {subscription.email}" if subscription else f"A sample {result.period.frequency} digest"
    frame_query = urlencode({k: v for k, v in {"subscriber": subscriber, "frequency": frequency, "format": "html"}.items() if v})
    return _page(request, settings, "preview.html", heading=heading, note=result.note, subject=result.message["Subject"],
                 frame_url=f"/digest/preview?{frame_query}", admin=subscription is not None)
