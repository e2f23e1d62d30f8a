"""``/api/...`` routes. Reads are the same for everyone (cacheable by URL); the one write,
``POST /api/papers/{id}/vote``, needs a session and the CSRF header like any form."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from papertide import feed
from papertide.catalog.arxiv_ids import normalise_arxiv_id
from papertide.community import ratelimit, threads, votes
from papertide.community.accounts import Account
from papertide.community.errors import CommunityError
from papertide.web import deps, security
from papertide.web.api import hf_shapes
from papertide.web.session import current_user, require_user
from papertide.search import search_papers, similar_papers

router = APIRouter(prefix="/api", tags=["papers"])

ReadSession = Annotated[Session, Depends(deps.read_session)]


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str) -> JSON:
    """Errors as Hugging Face sends them: ``{"error": "..."}``."""
    return JSON({"error": message}, status_code=status)


@router.get("/session", summary="Who you are and your CSRF token (papertide)")
def session_info(request: Request) -> JSON:
    """For scripts and single-page clients: the logged-in user (or null) and the token to send as
    ``X-CSRF-Token`` with POSTs. Starts a session cookie; never cached."""
    account = current_user(request)
    return JSON({"user": hf_shapes.user(account.username) if account else None,
                 "isAdmin": bool(account and account.is_admin),
                 "csrfToken": str(security.csrf_token(request))},
                headers={"Cache-Control": "no-store"})


@router.get("/daily_papers", summary="The daily list (Hugging Face compatible)")
def daily_papers(
    request: Request,
    session: ReadSession,
    date: Annotated[str | None, Query(max_length=20, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=20, description="YYYY-Www, e.g. 2025-W09")] = None,
    month: Annotated[str | None, Query(max_length=20, description="YYYY-MM")] = None,
    sort: Annotated[str, Query(max_length=20, description="publishedAt (newest), trending or upvotes")] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=100_000, description="page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    submitter: Annotated[str | None, Query(max_length=100)] = None,
) -> JSON:
    """Papers on the daily list of a day, week or month; without one, the newest submissions."""
    try:
        if date or week or month:
            page = feed.daily_feed(session, day=date, week=week, month=month, sort=sort, now=deps.now(request),
                                   page=p, limit=limit, submitter=submitter)
        else:
            page = feed.recent_feed(session, sort=sort, now=deps.now(request), page=p, limit=limit, submitter=submitter)
    except feed.InvalidQuery as problem:
        return error(400, str(problem))
    return JSON([hf_shapes.daily_item(item) for item in page.items])


@router.get("/papers/search", summary="Search papers (Hugging Face compatible)")
def search(
    request: Request,
    session: ReadSession,
    q: Annotated[str, Query(max_length=feed.MAX_QUERY)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    date_from: date | None = None,
    date_to: date | None = None,
    organization: Annotated[str | None, Query(max_length=100)] = None,
) -> JSON:
    hits = search_papers(deps.database(request), q, limit=min(limit, feed.MAX_LIMIT), published_from=date_from,
                         published_until=date_to, organization=organization)
    items = feed.items_by_ids(session, [hit.arxiv_id for hit in hits], now=deps.now(request))
    return JSON([hf_shapes.daily_item(item) for item in items])


@router.get("/trending", summary="Trending papers (papertide)")
def trending(request: Request, session: ReadSession, days: Annotated[int, Query(ge=1, le=90)] = 7,
             limit: Annotated[int, Query(ge=1, le=100)] = 30) -> JSON:
    items = feed.trending(session, deps.now(request), days=days, limit=limit)
    return JSON([hf_shapes.daily_item(item) | {"trendingScore": round(item.score, 6)} for item in items])


@router.get("/organizations/{slug}/papers", summary="An organisation's papers (papertide)")
def organization_papers(request: Request, session: ReadSession, slug: str,
                        sort: Annotated[str, Query(max_length=20)] = "newest",
                        p: Annotated[int, Query(ge=0, le=100_000)] = 0,
                        limit: Annotated[int, Query(ge=1, le=100)] = 50) -> JSON:
    try:
        page = feed.organization_page(session, slug, sort=sort, now=deps.now(request), page=p, limit=limit)
    except feed.InvalidQuery as problem:
        return error(400, str(problem))
    if page is None:
        return error(404, f"no organization {slug[:100]!r}")
    return JSON([hf_shapes.daily_item(item) for item in page.items])


@router.get("/papers/{arxiv_id:path}/similar", summary="Similar papers (papertide)")
def similar(request: Request, session: ReadSession, arxiv_id: str, k: Annotated[int, Query(ge=1, le=50)] = 6) -> JSON:
    if feed.get_paper_item(session, arxiv_id) is None:
        return error(404, "Paper not found")
    hits = similar_papers(deps.database(request), arxiv_id, k=k)
    return JSON([hf_shapes.daily_item(item) for item in feed.items_by_ids(session, [h.arxiv_id for h in hits], now=deps.now(request))])


@router.get("/papers/{arxiv_id:path}/votes", summary="Upvotes over time (papertide)")
def vote_history(request: Request, session: ReadSession, arxiv_id: str) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    points = feed.votes_over_time(session, item.paper.id, now=deps.now(request))
    return JSON({"id": item.paper.arxiv_id, "upvotes": item.upvotes,
                 "points": [{"date": pt.day.isoformat(), "votes": pt.votes, "total": pt.total} for pt in points]})


@router.get("/papers/{arxiv_id:path}/comments", summary="Comments (papertide)")
def list_comments(session: ReadSession, arxiv_id: str) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    return JSON([
        {"id": c.id, "author": hf_shapes.user(c.author) if c.state in ("shown", "removed") else None,
         "body": c.body, "html": c.html,
         "createdAt": hf_shapes.iso(c.created_at), "parentId": c.parent_id, "state": c.state,
         "editedAt": hf_shapes.iso(c.edited_at), "removedReason": c.removed_reason}
        for c in threads.list_comments(session, item.paper.arxiv_id)
    ])


@router.post("/papers/{arxiv_id:path}/vote", summary="Toggle your upvote (papertide; session + X-CSRF-Token)",
             dependencies=[Depends(security.verify_csrf)])
def vote(request: Request, arxiv_id: str, account: Annotated[Account, Depends(require_user)]) -> JSON:
    key = normalise_arxiv_id(arxiv_id)
    if key is None:
        return error(404, "Paper not found")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "vote", f"user:{account.id}", now=deps.now(request),
                          scale=deps.settings(request).rate_limit_scale)
            result = votes.toggle_vote(session, account.id, key, now=deps.now(request))
    except ratelimit.RateLimited as limited:
        return JSON({"error": str(limited)}, status_code=429, headers={"Retry-After": str(limited.retry_after)})
    except CommunityError as problem:
        return error(problem.status, str(problem))
    return JSON({"id": key, "voted": result.voted, "upvotes": result.upvotes})


@router.get("/papers/{arxiv_id:path}", summary="One paper (Hugging Face compatible)")
def paper(session: ReadSession, arxiv_id: str) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    return JSON(hf_shapes.paper_with_counts(item))
