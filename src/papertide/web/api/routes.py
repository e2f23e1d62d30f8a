"""``/api/...`` reads: the daily list, search, papers, trending, organisations, and who you are.

They are the same for every reader (cached by URL, validated by ETag), Hugging Face's shapes where
its API has the endpoint. Each declares its answer (``api.models``) and its errors (``Error``) for
OpenAPI; query parameters are described as exactly as the code reads them, so a request the
schema allows is answered. The writes are in ``api.actions``.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from papertide import feed
from papertide.community import threads
from papertide.search import MAX_RESULTS, search_papers, similar_papers
from papertide.web import deps, security
from papertide.web.api import hf_shapes, models
from papertide.web.errors import error_responses, json_error
from papertide.web.inputs import Day, Month, PageNumber, PaperId, Sort, Week, bounded
from papertide.web.session import bearer_token, check_token, current_user

router = APIRouter(prefix="/api", tags=["papers"], dependencies=[Depends(check_token)])

ReadSession = Annotated[Session, Depends(deps.read_session)]
Limit = bounded(1, feed.MAX_LIMIT, f"how many, 1 to {feed.MAX_LIMIT}")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str) -> Response:
    """Errors as Hugging Face sends them, and as every JSON error here is: ``{"error": "..."}``."""
    return json_error(status, message)


def period_error(problem: feed.InvalidQuery) -> Response:
    """400 for a malformed period or one outside the served range, 404 for one the calendar lacks."""
    return error(404 if isinstance(problem, feed.NoSuchPeriod) else 400, str(problem))


@router.get("/session", summary="Who you are and your CSRF token (papertide)", response_model=models.SessionInfo,
            responses=error_responses(401, 429))
def session_info(request: Request) -> JSON:
    """For scripts and single-page clients: the logged-in user (or null) and the token to send as
    ``X-CSRF-Token`` with POSTs. Starts a session cookie (not for an API token: empty then); never cached."""
    account = current_user(request)
    by_token = bearer_token(request) is not None  # a token needs no CSRF token, and gets no cookie
    return JSON({"user": hf_shapes.user(account.username) if account else None,
                 "isAdmin": bool(account and account.is_admin),
                 "csrfToken": "" if by_token else str(security.csrf_token(request))},
                headers={"Cache-Control": "no-store"})


@router.get("/daily_papers", summary="The daily list (Hugging Face compatible)", response_model=list[models.DailyItem],
            responses=error_responses(400, 404))
def daily_papers(
    request: Request,
    session: ReadSession,
    date: Day = None,
    week: Week = None,
    month: Month = None,
    sort: Sort = "publishedAt",
    p: PageNumber = 0,
    limit: Limit = 50,
    submitter: Annotated[str, Query(max_length=100)] = None,
) -> JSON:
    """Papers on the daily list of a day, week or month (of several, the shortest counts; week 53
    of a year that has 52 is a 404); without one, the newest submissions, ``limit`` at a time."""
    try:
        if date is not None or week is not None or month is not None:
            page = feed.daily_feed(session, day=date, week=week, month=month, sort=sort, now=deps.now(request),
                                   page=p, limit=limit, submitter=submitter, strict=True)
        else:
            page = feed.recent_feed(session, sort=sort, now=deps.now(request), page=p, limit=limit, submitter=submitter)
    except feed.InvalidQuery as problem:
        return period_error(problem)
    return JSON([hf_shapes.daily_item(item) for item in page.items])


@router.get("/papers/search", summary="Search papers (Hugging Face compatible)", response_model=list[models.DailyItem],
            responses=error_responses(400))
def search(
    request: Request,
    session: ReadSession,
    q: Annotated[str, Query(max_length=feed.MAX_QUERY, description="words, a phrase, or an arXiv id")] = "",
    p: Annotated[PageNumber, Query(description=f"page, from 0; results go at most {MAX_RESULTS} deep")] = 0,
    limit: Limit = 50,
    date_from: Day = None,
    date_to: Day = None,
    organization: Annotated[str, Query(max_length=100, description="an organisation's slug")] = None,
) -> JSON:
    """Papers matching ``q``, best first, ``limit`` at a time (page ``p``, as deep as search goes);
    ``date_from`` and ``date_to`` are inclusive days of publication."""
    try:
        start = feed.parse_day(date_from, strict=True) if date_from is not None else None
        end = feed.parse_day(date_to, strict=True) if date_to is not None else None
    except feed.InvalidQuery as problem:
        return error(400, str(problem))
    first, deepest = p * limit, min((p + 1) * limit, MAX_RESULTS)
    hits = search_papers(deps.database(request), q, limit=deepest, published_from=start, published_until=end,
                         organization=organization) if q.strip() and first < deepest else []
    items = feed.items_by_ids(session, [hit.arxiv_id for hit in hits[first:deepest]], now=deps.now(request))
    return JSON([hf_shapes.daily_item(item) for item in items])


@router.get("/trending", summary="Trending papers (papertide)", response_model=list[models.TrendingItem])
def trending(request: Request, session: ReadSession, days: bounded(1, 90, "the window, in days") = 7,
             limit: Limit = 30) -> JSON:
    items = feed.trending(session, deps.now(request), days=days, limit=limit)
    return JSON([hf_shapes.daily_item(item) | {"trendingScore": round(item.score, 6)} for item in items])


@router.get("/organizations/{slug}/papers", summary="An organisation's papers (papertide)",
            response_model=list[models.DailyItem], responses=error_responses(404))
def organization_papers(request: Request, session: ReadSession, slug: str,
                        sort: Sort = "newest", p: PageNumber = 0, limit: Limit = 50) -> JSON:
    page = feed.organization_page(session, slug, sort=sort, now=deps.now(request), page=p, limit=limit)
    if page is None:
        return error(404, f"no organization {slug[:100]!r}")
    return JSON([hf_shapes.daily_item(item) for item in page.items])


@router.get("/papers/{arxiv_id:arxiv}/similar", summary="Similar papers (papertide)",
            response_model=list[models.DailyItem], responses=error_responses(404))
def similar(request: Request, session: ReadSession, arxiv_id: PaperId, k: bounded(1, 50, "how many") = 6) -> JSON:
    if feed.get_paper_item(session, arxiv_id) is None:
        return error(404, "Paper not found")
    hits = similar_papers(deps.database(request), arxiv_id, k=k)
    return JSON([hf_shapes.daily_item(item) for item in feed.items_by_ids(session, [h.arxiv_id for h in hits], now=deps.now(request))])


@router.get("/papers/{arxiv_id:arxiv}/votes", summary="Upvotes over time (papertide)", response_model=models.VoteHistory,
            responses=error_responses(404))
def vote_history(request: Request, session: ReadSession, arxiv_id: PaperId) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    points = feed.votes_over_time(session, item.paper.id, now=deps.now(request))
    return JSON({"id": item.paper.arxiv_id, "upvotes": item.upvotes,
                 "points": [{"date": pt.day.isoformat(), "votes": pt.votes, "total": pt.total} for pt in points]})


@router.get("/papers/{arxiv_id:arxiv}/comments", summary="Comments (papertide)", response_model=list[models.Comment],
            responses=error_responses(404))
def list_comments(session: ReadSession, arxiv_id: PaperId) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    return JSON([hf_shapes.comment(c) for c in threads.list_comments(session, item.paper.arxiv_id)])


@router.get("/papers/{arxiv_id:arxiv}", summary="One paper (Hugging Face compatible)", response_model=models.PaperWithCounts,
            responses=error_responses(404))
def paper(session: ReadSession, arxiv_id: PaperId) -> JSON:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return error(404, "Paper not found")
    return JSON(hf_shapes.paper_with_counts(item))
