"""The state-changing endpoints behind the site's forms and htmx buttons.

Each one: CSRF check (``security.verify_csrf``), who is asking, a rate limit, one call to a
community service inside one transaction, then an answer in the shape the caller wants:

* an htmx request (``HX-Request``) gets the HTML fragment to swap in (the page templates'
  partials), or the error text with its status and ``HX-Reswap: none``;
* a request that accepts JSON gets JSON;
* a plain form post gets a 303 redirect back (``next``), with a flash message on errors.

The page routes (GET /login, /signup, /account, /submit, /admin) belong to ``web.pages``; these only act.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape

from papertide import feed
from papertide.catalog.arxiv_ids import normalise_arxiv_id
from papertide.community import accounts, comments, moderation, ratelimit, submissions, votes
from papertide.community.accounts import Account
from papertide.community.errors import CommunityError, Forbidden
from papertide.web import deps, security
from papertide.web.rendering import render
from papertide.web.session import current_user, end_session, flash, safe_next, start_session

router = APIRouter(tags=["actions"], dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

Text = Annotated[str, Form(max_length=100)]
LongText = Annotated[str, Form(max_length=comments.MAX_COMMENT * 2)]
Next = Annotated[str, Form(max_length=500)]
Reason = Annotated[str, Form(max_length=moderation.MAX_REASON)]


def _who(request: Request, *, admin: bool = False) -> Account | Response:
    """The account making the request, or the answer to give instead: a redirect to the log-in
    page (forms), ``HX-Redirect`` (htmx) or 401 (JSON); 403 for non-moderators on admin actions."""
    account = current_user(request)
    if account is None:
        referer = urlsplit(request.headers.get("referer", "")).path or "/"
        target = f"/login?next={quote(safe_next(referer))}"
        if _is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if _wants_json(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        return RedirectResponse(target, status_code=303)
    if admin and not account.is_admin:
        return _fail(request, 403, "only moderators can do that", "/")
    return account


# ---------------------------------------------------------------------------------------------
# Answers


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and not _is_htmx(request)


def _fail(request: Request, status: int, message: str, back: str, headers: dict[str, str] | None = None) -> Response:
    if _is_htmx(request):
        return HTMLResponse(f'<p class="form-error" role="alert">{_escape(message)}</p>', status_code=status,
                            headers={"HX-Reswap": "none", "HX-Trigger": "papertide-error", **(headers or {})})
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    flash(request, message)
    return RedirectResponse(back, status_code=303)


def _escape(text: str) -> str:
    return str(escape(text))


def _limited(request: Request, limited: ratelimit.RateLimited, back: str) -> Response:
    return _fail(request, 429, str(limited), back, {"Retry-After": str(limited.retry_after)})


def _scale(request: Request) -> float:
    return deps.settings(request).rate_limit_scale


# ---------------------------------------------------------------------------------------------
# Accounts


@router.post("/signup")
def sign_up(request: Request, username: Text, password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
            email: Annotated[str, Form(max_length=accounts.MAX_EMAIL)] = "", next: Next = "/") -> Response:
    back = f"/signup?next={quote(safe_next(next))}"
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "signup", f"ip:{security.client_address(request)}", now=deps.now(request), scale=_scale(request))
            account = accounts.sign_up(session, username, password, email or None)
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, back)
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), back)
    start_session(request, account)
    return _done(request, safe_next(next), {"username": account.username})


@router.post("/login")
def log_in(request: Request, username: Text, password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
           next: Next = "/") -> Response:
    back = f"/login?next={quote(safe_next(next))}"
    now, scale = deps.now(request), _scale(request)
    by_address, by_name = f"ip:{security.client_address(request)}", f"user:{username.strip().lower()}"
    try:  # only failed attempts count: a lab behind one address can all log in at nine
        with deps.database(request).session() as session:
            ratelimit.check(session, "login_ip", by_address, now=now, scale=scale)
            ratelimit.check(session, "login", by_name, now=now, scale=scale)
            account = accounts.authenticate(session, username, password)
            if account is None:
                ratelimit.record(session, "login_ip", by_address, now=now)
                ratelimit.record(session, "login", by_name, now=now)
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, back)
    if account is None:
        return _fail(request, 401, "wrong username or password", back)
    start_session(request, account)
    return _done(request, safe_next(next), {"username": account.username})


@router.post("/logout")
def log_out(request: Request) -> Response:
    end_session(request)
    return _done(request, "/", {"ok": True})


@router.post("/account/password")
def change_password(request: Request, current_password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
                    new_password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]) -> Response:
    """A new password; this session goes on (with a new CSRF token), every other one ends."""
    account = _who(request)
    if isinstance(account, Response):
        return account
    now, scale = deps.now(request), _scale(request)
    by_name = f"user:{account.username.lower()}"
    try:  # a wrong current password counts as a failed log-in: this form is no way to guess it
        with deps.database(request).session() as session:
            ratelimit.check(session, "login", by_name, now=now, scale=scale)
            try:
                account = accounts.change_password(session, account.id, current_password, new_password)
            except Forbidden:
                ratelimit.record(session, "login", by_name, now=now)
                session.commit()
                raise
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, "/account")
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), "/account")
    start_session(request, account)
    flash(request, "Password changed. Every other device is signed out.", "success")
    return _done(request, "/account", {"ok": True})


@router.post("/account/sessions/end")
def end_other_sessions(request: Request) -> Response:
    """Sign out everywhere else: every session but this one ends."""
    account = _who(request)
    if isinstance(account, Response):
        return account
    with deps.database(request).session() as session:
        account = accounts.end_other_sessions(session, account.id)
    start_session(request, account)
    flash(request, "Every other device is signed out.", "success")
    return _done(request, "/account", {"ok": True})


def _done(request: Request, target: str, payload: dict[str, Any]) -> Response:
    if _is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    if _wants_json(request):
        return JSONResponse(payload)
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------------------------------------
# Votes and comments


@router.post("/papers/{arxiv_id:path}/vote")
def vote(request: Request, arxiv_id: str, pill: Annotated[str, Form(max_length=5)] = "",
         next: Next = "") -> Response:
    account = _who(request)
    if isinstance(account, Response):
        return account
    key = normalise_arxiv_id(arxiv_id) or arxiv_id[:60]
    back = _back(request, next, f"/papers/{key}")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "vote", f"user:{account.id}", now=deps.now(request), scale=_scale(request))
            result = votes.toggle_vote(session, account.id, key, now=deps.now(request))
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, back)
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), back)
    if _is_htmx(request):
        with deps.database(request).session() as session:
            item = feed.get_paper_item(session, key)
        return render(request, "partials/vote.html", item=item, voted=result.voted, pill=bool(pill), vote_next=back)
    if _wants_json(request):
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


@router.post("/papers/{arxiv_id:path}/comments")
def comment(request: Request, arxiv_id: str, body: LongText,
            parent_id: Annotated[int | None, Form()] = None) -> Response:
    account = _who(request)
    if isinstance(account, Response):
        return account
    key = normalise_arxiv_id(arxiv_id) or arxiv_id[:60]
    back = f"/papers/{key}#comments"
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "comment", f"user:{account.id}", now=deps.now(request), scale=_scale(request))
            view = comments.add_comment(session, account.id, key, body, parent_id, now=deps.now(request))
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, back)
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), back)
    if _is_htmx(request):
        return render(request, "partials/comment.html", comment=view)
    if _wants_json(request):
        return JSONResponse({"id": view.id, "html": view.html}, status_code=201)
    return RedirectResponse(f"/papers/{key}#comment-{view.id}", status_code=303)


# ---------------------------------------------------------------------------------------------
# Submissions


@router.post("/submit")
def submit(request: Request, arxiv_id: Annotated[str, Form(max_length=submissions.MAX_ID_INPUT)]) -> Response:
    account = _who(request)
    if isinstance(account, Response):
        return account
    fetch = getattr(request.app.state, "fetch_paper", None)  # tests and deployments may set their own
    try:
        database = deps.database(request)
        with database.session() as session:  # its own transaction: a failed lookup still counts
            ratelimit.hit(session, "submit", f"user:{account.id}", now=deps.now(request), scale=_scale(request))
        result = submissions.submit(database, account.id, arxiv_id, fetch, now=deps.now(request))
    except ratelimit.RateLimited as limited:
        return _limited(request, limited, "/submit")
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), "/submit")
    target = f"/papers/{result.arxiv_id}"
    if _wants_json(request):
        return JSONResponse({"id": result.arxiv_id, "fetched": result.fetched, "date": result.daily_date.isoformat()},
                            status_code=201)
    flash(request, f"{result.arxiv_id} is on the daily list of {result.daily_date.isoformat()}", "success")
    return _done(request, target, {})


# ---------------------------------------------------------------------------------------------
# Moderation


# (what, verb) -> the moderation service; what is acted on is the path's target.
MODERATION = {
    ("papers", "hide"): moderation.hide_paper,
    ("papers", "unhide"): moderation.unhide_paper,
    ("comments", "hide"): moderation.hide_comment,
    ("comments", "unhide"): moderation.unhide_comment,
    ("users", "block"): moderation.block_user,
    ("users", "unblock"): moderation.unblock_user,
}


@router.post("/admin/{what}/{target:path}/{verb}")
def moderate(request: Request, what: str, target: str, verb: str, reason: Reason = "", next: Next = "") -> Response:
    """``/admin/papers/<arxiv id>/hide|unhide``, ``/admin/comments/<id>/hide|unhide``,
    ``/admin/users/<name>/block|unblock``. htmx on a comment gets the comment back, re-rendered."""
    admin = _who(request, admin=True)
    if isinstance(admin, Response):
        return admin
    action = MODERATION.get((what, verb))
    if action is None or (what == "comments" and not target.isdigit()):
        return _fail(request, 404, "no such moderation action", "/admin")
    if what == "papers":
        key: str | int = normalise_arxiv_id(target) or target[:60]
        back = safe_next(next, f"/papers/{key}")
    else:
        key, back = (int(target[:18]) if what == "comments" else target[:40]), safe_next(next, "/admin")
    try:
        with deps.database(request).session() as session:
            action(session, admin.id, key, reason)
    except CommunityError as problem:
        return _fail(request, problem.status, str(problem), back)
    if what == "comments" and _is_htmx(request):
        with deps.database(request).session() as session:
            view = comments.get_comment(session, key)
        return render(request, "partials/comment.html", comment=view)
    if not _is_htmx(request) and not _wants_json(request):
        flash(request, "Done.", "success")
    return _done(request, back, {"ok": True})
