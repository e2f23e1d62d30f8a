"""``/api/...`` writes, for scripts: vote, comment, submit, manage your digest subscription; and
``/api/whoami-v2``, Hugging Face's way for a client to check its token.

Each write takes either a personal API token (``Authorization: Bearer pt_...``, write scope) or a
browser session with its CSRF token, through ``session.verify_write``, like every form of the
site; and each counts against the same per-user rate limits as the forms do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from papertide.catalog.paper_ids import normalise_paper_id
from papertide.community import comments, ratelimit, submission_queue, votes
from papertide.community.accounts import Account
from papertide.community.errors import CommunityError
from papertide.digest import interests, subscriptions
from papertide.digest.delivery import DeliveryError
from papertide.digest.subscriptions import Preferences, SubscriptionError
from papertide.orm import MAX_ID
from papertide.web import deps, security
from papertide.web.api import hf_shapes, models
from papertide.web.api.routes import JSON
from papertide.web.digest import limited_subscribe
from papertide.web.errors import error_responses, json_error
from papertide.web.inputs import ARXIV_ID, PaperId  # also registers the {arxiv_id:arxiv} path convertor
from papertide.web.session import require_user, verify_write

router = APIRouter(prefix="/api", tags=["your account"])

User = Annotated[Account, Depends(require_user)]
# Who first (401 for nobody), then may they write (a write token, or the CSRF token of a session).
Writes = [Depends(require_user), Depends(verify_write)]
WRITE_ERRORS = error_responses(401, 403, 404, 422, 429)


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=comments.MAX_COMMENT, description="Markdown")
    parentId: int | None = Field(None, ge=1, le=MAX_ID, description="the comment this replies to")


class NewSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ARXIV_ID, description="an arXiv id, with or without its version: 2405.15738v2, astro-ph/0601001")


def _limited(limited: ratelimit.RateLimited) -> Response:
    return json_error(429, str(limited), headers=security.rate_limit_headers(limited))


def _on_paper(request: Request, account: Account, arxiv_id: str, action: str,
              act: Callable[[Session, str], object], answer: Callable[[str, object], Response]) -> Response:
    """What a vote and a comment share: the paper's key (404 if none), the owner's rate limit
    for ``action`` and ``act`` in one transaction, and errors in the one JSON shape."""
    key = normalise_paper_id(arxiv_id)
    if key is None:
        return json_error(404, "Paper not found")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, action, f"user:{account.id}", now=deps.now(request),
                          scale=deps.settings(request).rate_limit_scale)
            result = act(session, key)
    except ratelimit.RateLimited as limited:
        return _limited(limited)
    except CommunityError as problem:
        return json_error(problem.status, str(problem))
    return answer(key, result)


@router.post("/papers/{arxiv_id:arxiv}/vote", summary="Toggle your upvote (papertide)", dependencies=Writes,
             response_model=models.VoteResult, responses=WRITE_ERRORS)
def vote(request: Request, arxiv_id: PaperId, account: User) -> Response:
    return _on_paper(request, account, arxiv_id, "vote",
                     lambda session, key: votes.toggle_vote(session, account.id, key, now=deps.now(request)),
                     lambda key, result: JSON({"id": key, "voted": result.voted, "upvotes": result.upvotes}))


@router.post("/papers/{arxiv_id:arxiv}/comments", summary="Comment on a paper (papertide)", dependencies=Writes,
             status_code=201, response_model=models.Comment, responses=WRITE_ERRORS)
def comment(request: Request, arxiv_id: PaperId, new: NewComment, account: User) -> Response:
    return _on_paper(request, account, arxiv_id, "comment",
                     lambda session, key: comments.add_comment(session, account.id, key, new.body, new.parentId,
                                                               now=deps.now(request)),
                     lambda key, view: JSON(hf_shapes.comment(view), status_code=201))


@router.post("/submissions", summary="Put a paper on today's list (papertide)", dependencies=Writes, status_code=201,
             response_model=models.Submission,
             responses={202: {"model": models.QueuedSubmission,
                              "description": "arXiv did not answer in time: queued, added when arXiv answers"},
                        **error_responses(401, 403, 404, 409, 422, 429)})
def submit(request: Request, new: NewSubmission, account: User) -> Response:
    """A paper in the catalog goes on today's list; one that is not is fetched from arXiv first,
    or queued (202) when arXiv does not answer within a few seconds."""
    database = deps.database(request)
    try:
        with database.session() as session:  # its own transaction: a failed lookup still counts
            ratelimit.hit(session, "submit", f"user:{account.id}", now=deps.now(request),
                          scale=deps.settings(request).rate_limit_scale)
        result = submission_queue.submit_or_queue(database, account.id, new.id, deps.arxiv_fetch(request),
                                                  now=deps.now(request))
    except ratelimit.RateLimited as limited:
        return _limited(limited)
    except CommunityError as problem:
        return json_error(problem.status, str(problem))
    if isinstance(result, submission_queue.Queued):
        return JSON({"id": result.arxiv_id, "status": "queued"}, status_code=202)
    return JSON({"id": result.arxiv_id, "fetched": result.fetched, "date": result.daily_date.isoformat()}, status_code=201)


# --- your digest subscription -----------------------------------------------------------------

def _mine(request: Request, account: Account):
    """(your active subscription or None, your account's email or None)."""
    database = deps.database(request)
    email = subscriptions.account_email(database, account.id)
    found = subscriptions.for_user(database, account.id, email)
    return (found if found is not None and found.status != "unsubscribed" else None), email


def _subscription(found) -> dict:
    return {**Preferences.of(found).model_dump(), "email": found.email, "status": found.status}


@router.get("/subscriptions/mine", summary="Your digest subscription (papertide)", response_model=models.Subscription,
            responses=error_responses(401, 404))
def my_subscription(request: Request, account: User) -> Response:
    found, _ = _mine(request, account)
    if found is None:
        return json_error(404, "you have no digest subscription; PUT one here")
    return JSON(_subscription(found), headers={"Cache-Control": "private, no-cache"})


@router.put("/subscriptions/mine", summary="Set your digest subscription (papertide)", dependencies=Writes,
            response_model=models.Subscription,
            responses={202: {"model": models.Subscription, "description": "new: a confirmation email was sent"},
                       **error_responses(401, 403, 404, 409, 422, 429, 503)})
def set_my_subscription(request: Request, preferences: Annotated[Preferences, Body()], account: User) -> Response:
    """Change the preferences of your subscription; without one, subscribe your account's address
    (202: nothing is sent until you click the link in the confirmation email)."""
    database = deps.database(request)
    try:
        preferences = interests.check_interests(database, preferences)
    except interests.UnknownInterests as problem:
        return json_error(404, str(problem))
    found, email = _mine(request, account)
    if found is not None and found.status in ("confirmed", "pending"):
        return JSON(_subscription(subscriptions.update_preferences(database, found.id, preferences)))
    if not email:
        return json_error(409, "your account has no confirmed email address to send a digest to")
    try:
        limited_subscribe(request, database, deps.settings(request), email, preferences, account)
    except SubscriptionError as problem:
        return json_error(409, str(problem))
    except ratelimit.RateLimited as limited:
        return _limited(limited)
    except DeliveryError:
        return json_error(503, "the confirmation email could not be sent; try again later")
    found, _ = _mine(request, account)
    return JSON(_subscription(found), status_code=202)


@router.delete("/subscriptions/mine", summary="Unsubscribe (papertide)", dependencies=Writes, status_code=204,
               response_class=Response, responses=error_responses(401, 403, 404))
def delete_my_subscription(request: Request, account: User) -> Response:
    found, _ = _mine(request, account)
    if found is None:
        return json_error(404, "you have no digest subscription")
    subscriptions.unsubscribe(deps.database(request), found.id, found.email)
    return Response(status_code=204)


@router.get("/whoami-v2", summary="Who the token or session is (Hugging Face compatible)", response_model=models.WhoAmI,
            responses=error_responses(401))
def whoami(request: Request, account: User) -> Response:
    bearer = getattr(request.state, "papertide_bearer", None)
    auth = {"type": "access_token", "accessToken": {"displayName": bearer.name, "role": bearer.scope}} if bearer else {}
    return JSON({"type": "user", "name": account.username, "fullname": account.username, "isAdmin": account.is_admin,
                 "auth": auth}, headers={"Cache-Control": "private, no-cache"})
