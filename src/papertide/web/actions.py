"""The state-changing endpoints behind the site's forms and htmx buttons.

Each one: the write check (``session.verify_write``: the CSRF token from a browser, or a write-scoped
API token from a script), who is asking, a rate limit, one call to a community service inside one
transaction, then an answer in the shape the caller wants (``web.answers``: an htmx fragment, JSON
for scripts, or a 303 back with a flash message). Sign-up and log-in
forms that are refused come back filled in as they were sent, passwords excepted.

The page routes (GET /login, /signup, /account, /submit, /admin) belong to ``web.pages``; the
comment thread's routes are ``web.threads``'; these only act.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide import feed
from papertide.catalog.paper_ids import normalise_paper_id
from papertide.community import (accounts, comments, moderation, ratelimit, submission_queue, submissions, threads,
                                  tokens, votes)
from papertide.community.accounts import Account
from papertide.community.errors import AlreadyListed, Blocked, CommunityError, Forbidden
from papertide.digest.account_mail import send_address_email
from papertide.orm import parse_id
from papertide.web import deps, security
from papertide.web.answers import done, fail, is_htmx, limited, rate_scale, wants_json, who
from papertide.web.pages.account import submit_form
from papertide.web.rendering import page_context, render
from papertide.web.session import (end_other_sessions as end_others, end_session, flash, safe_next, session_only,
                                   start_session, verify_write)

router = APIRouter(tags=["actions"], dependencies=[Depends(verify_write)], include_in_schema=False)
SessionOnly = [Depends(session_only)]  # an account's own forms: never with an API token

Text = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]
Email = Annotated[str, Form(max_length=accounts.MAX_EMAIL)]
Next = Annotated[str, Form(max_length=500)]
Reason = Annotated[str, Form(max_length=moderation.MAX_REASON)]
T = TypeVar("T")


def _form_again(request: Request, template: str, status: int, message: str, back: str,
                headers: dict[str, str] | None = None, **fields: str) -> Response:
    """A refused sign-up or log-in: a plain form comes back filled in as sent (``fields``; never
    the password), with the message; htmx and JSON callers get ``fail``'s answer."""
    if is_htmx(request) or wants_json(request):
        return fail(request, status, message, back, headers)
    page = render(request, template, status, error=message, **fields)
    page.headers.update(headers or {})
    return page


# ---------------------------------------------------------------------------------------------
# Accounts


@router.post("/signup", dependencies=SessionOnly)
def sign_up(request: Request, tasks: BackgroundTasks, username: Text, password: Password, email: Email = "",
            next: Next = "/") -> Response:
    """A new account, logged in. An address given is not stored yet: it gets an email (a link to
    add it, or a notice to the account that has it), so the answer is the same either way."""
    back, kept = f"/signup?next={quote(safe_next(next))}", {"username": username, "email": email, "next": safe_next(next)}
    try:
        address = accounts.validate_email(email)
        with deps.database(request).session() as session:
            ratelimit.hit(session, "signup", f"ip:{security.client_address(request)}", now=deps.now(request), scale=rate_scale(request))
            account = accounts.sign_up(session, username, password)
    except ratelimit.RateLimited as refused:
        return _form_again(request, "signup.html", 429, str(refused), back, security.rate_limit_headers(refused), **kept)
    except CommunityError as problem:
        return _form_again(request, "signup.html", problem.status, str(problem), back, **kept)
    start_session(request, account)
    _send_address_link(request, tasks, account, address)
    return done(request, safe_next(next), {"username": account.username})


def _send_address_link(request: Request, tasks: BackgroundTasks, account: Account, address: str | None) -> None:
    """After the answer, the address gets its email: a link that adds it to ``account``, or a
    notice to the account that already has it, so no answer tells who is registered."""
    if not address:
        return
    tasks.add_task(send_address_email, deps.database(request), deps.settings(request), account.id, account.username,
                   address, now=deps.now(request))
    if not wants_json(request) and not is_htmx(request):
        flash(request, f"We emailed {address}: the link in it adds the address to your account.", "success")


@router.post("/login", dependencies=SessionOnly)
def log_in(request: Request, username: Text, password: Password, next: Next = "/") -> Response:
    back, kept = f"/login?next={quote(safe_next(next))}", {"username": username, "next": safe_next(next)}
    now, scale = deps.now(request), rate_scale(request)
    by_address, by_name = f"ip:{security.client_address(request)}", _name_at_address(request, username)
    try:  # only failed attempts count: a lab behind one address can all log in at nine
        with deps.database(request).session() as session:
            ratelimit.check(session, "login_ip", by_address, now=now, scale=scale)
            ratelimit.check(session, "login", by_name, now=now, scale=scale)
            account = accounts.authenticate(session, username, password)
            if account is None:
                ratelimit.record(session, "login_ip", by_address, now=now)
                ratelimit.record(session, "login", by_name, now=now)
    except ratelimit.RateLimited as refused:
        return _form_again(request, "login.html", 429, str(refused), back, security.rate_limit_headers(refused), **kept)
    except Blocked as blocked:  # the right password: telling them reveals nothing to a guesser
        return _form_again(request, "login.html", blocked.status, str(blocked), back, **kept)
    if account is None:
        return _form_again(request, "login.html", 401, "wrong username or password", back, **kept)
    start_session(request, account)
    return done(request, safe_next(next), {"username": account.username})


def _name_at_address(request: Request, username: str) -> str:
    """The key failed log-ins for a name are counted under: the name *and* the client's address,
    so guessing from one address locks out that address only, never the owner at theirs."""
    return f"user:{username.strip().lower()[:100]}:ip:{security.client_address(request)}"


@router.post("/logout", dependencies=SessionOnly)
def log_out(request: Request) -> Response:
    end_session(request)
    return done(request, "/", {"ok": True})


def _with_current_password(request: Request, account: Account, back: str, change: Callable[[Session], T]) -> T | Response:
    """``change(session)``, which checks the current password, or the refusal to answer with. A
    wrong password counts as a failed log-in for the username: these forms are no way to guess it."""
    now, scale = deps.now(request), rate_scale(request)
    by_name = _name_at_address(request, account.username)
    try:
        with deps.database(request).session() as session:
            ratelimit.check(session, "login", by_name, now=now, scale=scale)
            try:
                return change(session)
            except Forbidden:
                ratelimit.record(session, "login", by_name, now=now)
                session.commit()
                raise
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)


@router.post("/account/password", dependencies=SessionOnly)
def change_password(request: Request, current_password: Password, new_password: Password) -> Response:
    """A new password; this session goes on (with a new CSRF token), every other one ends."""
    account = who(request)
    if isinstance(account, Response):
        return account
    change = partial(accounts.change_password, user_id=account.id, current=current_password, new=new_password)
    account = _with_current_password(request, account, "/account", change)
    if isinstance(account, Response):
        return account
    start_session(request, account)
    end_others(request, account)
    flash(request, "Password changed. Every other device is signed out.", "success")
    return done(request, "/account", {"ok": True})


@router.post("/account/email", dependencies=SessionOnly)
def change_email(request: Request, tasks: BackgroundTasks, current_password: Password, email: Email = "") -> Response:
    """Clear the account's address, or ask for a new one (where password resets go): the password
    confirms it, and the new address is added only from the link emailed to it, as at sign-up."""
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        address = accounts.validate_email(email)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), "/account#email")
    if address:
        confirmed = _with_current_password(request, account, "/account#email", partial(
            accounts.confirm_password, user_id=account.id, current=current_password))
        if isinstance(confirmed, Response):
            return confirmed
        _send_address_link(request, tasks, account, address)
        return done(request, "/account", {"email": None, "pending": address})
    change = partial(accounts.set_email, user_id=account.id, current=current_password, email="")
    saved = _with_current_password(request, account, "/account#email", change)
    if isinstance(saved, Response):
        return saved
    flash(request, "Your account has no email address now.", "success")
    return done(request, "/account", {"email": saved})


@router.post("/account/sessions/end", dependencies=SessionOnly)
def end_other_sessions(request: Request) -> Response:
    """Sign out everywhere else: every session but this one ends."""
    account = who(request)
    if isinstance(account, Response):
        return account
    with deps.database(request).session() as session:
        account = accounts.end_other_sessions(session, account.id)
    start_session(request, account)
    end_others(request, account)
    flash(request, "Every other device is signed out.", "success")
    return done(request, "/account", {"ok": True})


@router.post("/account/tokens", dependencies=SessionOnly)
def create_token(request: Request, name: Text = "", scope: Annotated[str, Form(max_length=10)] = "read") -> Response:
    """A new personal API token, shown this once (only its hash is kept)."""
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        with deps.database(request).session() as session:
            secret, token = tokens.create(session, account.id, name, scope, now=deps.now(request))
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), "/account#tokens")
    if wants_json(request):
        return JSONResponse({"id": token.id, "name": token.name, "scope": token.scope, "token": secret}, status_code=201)
    return render(request, "token_created.html", status_code=201, nav="account", token=token, secret=secret)


@router.post("/account/tokens/{token_id}/revoke", dependencies=SessionOnly)
def revoke_token(request: Request, token_id: str) -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    number = parse_id(token_id)
    with deps.database(request).session() as session:
        revoked = number is not None and tokens.revoke(session, account.id, number)
    if not revoked:
        return fail(request, 404, "you have no such token", "/account#tokens")
    if not wants_json(request):
        flash(request, "The token is revoked: scripts using it are refused from now on.", "success")
    return done(request, "/account#tokens", {"ok": True})


# ---------------------------------------------------------------------------------------------
# Votes


@router.post("/papers/{arxiv_id:path}/vote")
def vote(request: Request, arxiv_id: str, pill: Annotated[str, Form(max_length=5)] = "",
         next: Next = "") -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    key = normalise_paper_id(arxiv_id) or arxiv_id[:60]
    back = _back(request, next, f"/papers/{key}")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "vote", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            result = votes.toggle_vote(session, account.id, key, now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if is_htmx(request):
        with deps.database(request).session() as session:
            item = feed.get_paper_item(session, key)
        return render(request, "partials/vote.html", item=item, voted=result.voted, pill=bool(pill), vote_next=back)
    if wants_json(request):
        return JSONResponse({"id": key, "voted": result.voted, "upvotes": result.upvotes})
    if urlsplit(back).path != f"/papers/{key}" and "#" not in back:
        back += f"#paper-{key}"  # back to the list, at the card voted on
    return RedirectResponse(back, status_code=303)


def _back(request: Request, next: str, default: str) -> str:
    """Where a form sent without JavaScript returns: its ``next``, else the page it was sent from
    (the Referer, when it is this site's), else ``default``."""
    if next:
        return safe_next(next, default)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.headers.get("host"):
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""), default)
    return default


# ---------------------------------------------------------------------------------------------
# Submissions


@router.post("/submit")
def submit(request: Request, arxiv_id: Annotated[str, Form(max_length=submissions.MAX_ID_INPUT)]) -> Response:
    """On the list at once when papertide has the paper or arXiv answers in time; else queued for
    the worker (202). A refused submission comes back with the id still in the field."""
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        database = deps.database(request)
        with database.session() as session:  # its own transaction: a failed lookup still counts
            ratelimit.hit(session, "submit", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
        result = submission_queue.submit_or_queue(database, account.id, arxiv_id, deps.arxiv_fetch(request),
                                                  now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return _submit_again(request, arxiv_id, 429, str(refused), headers=security.rate_limit_headers(refused))
    except CommunityError as problem:
        return _submit_again(request, arxiv_id, problem.status, str(problem),
                             listed=problem if isinstance(problem, AlreadyListed) else None)
    if isinstance(result, submission_queue.Queued):
        if wants_json(request) or is_htmx(request):
            return JSONResponse({"id": result.arxiv_id, "status": "queued"}, status_code=202)
        return submit_form(request, page_context(request), 202, arxiv_id=arxiv_id, queued=result)
    if wants_json(request):
        return JSONResponse({"id": result.arxiv_id, "fetched": result.fetched, "date": result.daily_date.isoformat()},
                            status_code=201)
    flash(request, f"{result.arxiv_id} is on the daily list of {result.daily_date.isoformat()}", "success")
    return done(request, f"/papers/{result.arxiv_id}", {})


def _submit_again(request: Request, arxiv_id: str, status: int, message: str, *, listed: AlreadyListed | None = None,
                  headers: dict[str, str] | None = None) -> Response:
    """A refused submission: the submit page again, the id as typed in its field, the message
    (a link to the day's list when the paper is on one); htmx and JSON callers get ``fail``'s answer."""
    if is_htmx(request) or wants_json(request):
        return fail(request, status, message, "/submit", headers)
    return submit_form(request, page_context(request), status, arxiv_id=arxiv_id, error=message, listed=listed,
                       headers=headers)


# ---------------------------------------------------------------------------------------------
# Moderation


# (what, verb) -> the moderation service and what to tell the moderator; the target is the path's.
MODERATION = {
    ("papers", "hide"): (moderation.hide_paper, "The paper is hidden from every list."),
    ("papers", "unhide"): (moderation.unhide_paper, "The paper is back on the lists."),
    ("comments", "hide"): (moderation.hide_comment, "The comment is removed; its thread shows your reason."),
    ("comments", "unhide"): (moderation.unhide_comment, "The comment is restored."),
    ("users", "block"): (moderation.block_user, "Blocked {target}: they are told why if they try to log in."),
    ("users", "unblock"): (moderation.unblock_user, "Unblocked {target}."),
}


@router.post("/admin/{what}/{target:path}/{verb}")
def moderate(request: Request, what: str, target: str, verb: str, reason: Reason = "", next: Next = "") -> Response:
    """``/admin/papers/<arxiv id>/hide|unhide``, ``/admin/comments/<id>/hide|unhide``,
    ``/admin/users/<name>/block|unblock``; hiding and blocking need a ``reason`` (asked for by the
    confirmation at the same address, ``pages.admin``). htmx on a comment gets its thread back."""
    admin = who(request, admin=True)
    if isinstance(admin, Response):
        return admin
    action, message = MODERATION.get((what, verb), (None, ""))
    comment_id = parse_id(target) if what == "comments" else None
    if action is None or (what == "comments" and comment_id is None):
        return fail(request, 404, "no such moderation action", "/admin")
    if what == "papers":
        key: str | int = normalise_paper_id(target) or target[:60]
        back = safe_next(next, f"/papers/{key}")
    else:
        key, back = (comment_id if what == "comments" else target[:40]), safe_next(next, "/admin")
    try:
        with deps.database(request).session() as session:
            action(session, admin.id, key, reason)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if what == "comments" and is_htmx(request):
        with deps.database(request).session() as session:
            root, arxiv_id = threads.thread_of(session, key, moderator=True), comments.paper_of(session, key)
        return render(request, "partials/thread.html", root=root, arxiv_id=arxiv_id, now=deps.now(request))
    if not is_htmx(request) and not wants_json(request):
        flash(request, message.format(target=key), "success")
    return done(request, back, {"ok": True})
