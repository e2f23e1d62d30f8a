"""Forms people fill in: sign up, log in, their account, submit a paper. Each posts to ``papertide.web.actions``,
which sends the reader back here with a flash message (``web.session``) when it refuses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide.community import accounts, submission_queue, tokens
from papertide.community.errors import CommunityError
from papertide.digest import account_mail
from papertide.digest.tokens import InvalidToken
from papertide.web import deps
from papertide.web.deps import database
from papertide.web.rendering import page_context, render_page
from papertide.web.session import safe_next

router = APIRouter()


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render_page(request, page_context(request), "signup.html", next=safe_next(next))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, username: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The log-in form; ``username`` fills it in (after a password reset)."""
    return render_page(request, page_context(request), "login.html", next=safe_next(next), username=username)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request):
    context = page_context(request)
    if context["user"] is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    with database(request).session() as session:
        email = accounts.email_of(session, context["user"].id)
        api_tokens = tokens.listing(session, context["user"].id)
    return render_page(request, context, "account.html", nav="account", min_password=accounts.MIN_PASSWORD, email=email,
                       api_tokens=api_tokens, scopes=tokens.SCOPES, max_tokens=tokens.MAX_TOKENS)


@router.get("/submit", response_class=HTMLResponse)
def submit_page(request: Request, arxiv_id: str = ""):
    context = page_context(request)
    if context["user"] is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    return submit_form(request, context, arxiv_id=arxiv_id)


def submit_form(request: Request, context: dict[str, Any], status_code: int = 200, *, arxiv_id: str = "",
                headers: dict[str, str] | None = None, **shown: Any) -> HTMLResponse:
    """The submit page for ``context``'s reader: the form holding ``arxiv_id``, what ``shown``
    says (``error``; ``listed``: the day's list it is on; ``queued``: it waits for arXiv), their
    queued submissions, and news of those that finished since they last looked (then seen)."""
    mine, finished = submission_queue.listing(database(request), context["user"].id, now=deps.now(request))
    page = render_page(request, context, "submit.html", status_code, nav="submit", arxiv_id=arxiv_id[:200], mine=mine,
                       finished=finished, **{"error": None, "listed": None, "queued": None, **shown})
    page.headers.update(headers or {})
    return page


@router.get("/account/email", response_class=HTMLResponse)
def confirm_email(request: Request, token: str = ""):
    """The link a sign-up's email carries: it adds the address to the account it was given for."""
    context = page_context(request)
    settings = deps.settings(request)
    try:
        user_id, email = account_mail.read_token(settings, token[:1000])
        with database(request).session() as session:
            account = accounts.add_confirmed_email(session, user_id, email)
    except (InvalidToken, CommunityError) as problem:
        return render_page(request, context, "notice.html", status_code=400, heading="This link does not work",
                           text=str(problem), error=True, link=None)
    return render_page(request, context, "notice.html", heading="Address added", error=False,
                       text=f"{email} is now the address of the account {account.username}.",
                       link={"url": "/account", "text": "Your account"})
