"""Atom and RSS feeds: the daily list, trending, an organisation, a saved search.

Each feed is ``/feeds/<what>.atom`` or ``.rss`` (feedgen writes both), takes the same query
parameters as its page, and is the same for every reader, so it caches by URL.

Every text put into a document goes through ``catalog.text.xml_safe`` first: lxml refuses to build
a document with a character XML 1.0 forbids, and one such character in a stored title (stored
before ingest cleaned them), or in a search query echoed into the feed's title, made the whole
feed answer 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from sqlalchemy.orm import Session

from papertide import feed
from papertide.catalog.text import xml_safe
from papertide.feed import FeedItem
from papertide.web import deps
from papertide.web.errors import error_responses, json_error
from papertide.web.inputs import Day, Month, Sort, Week
from papertide.web.session import check_token
from papertide.search import search_papers

router = APIRouter(prefix="/feeds", tags=["feeds"], dependencies=[Depends(check_token)])

Format = Literal["atom", "rss"]
ReadSession = Annotated[Session, Depends(deps.read_session)]
MEDIA_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
MAX_ENTRY_AUTHORS = 20


def build_feed(items: list[FeedItem], *, title: str, subtitle: str, page_url: str, self_url: str, base_url: str,
               fmt: Format, now: datetime) -> bytes:
    """An Atom or RSS document for ``items`` (newest-known times as the entries' dates)."""
    document = FeedGenerator()
    document.id(self_url)
    document.title(xml_safe(title))
    document.subtitle(xml_safe(subtitle))
    document.link(href=page_url, rel="alternate")
    document.link(href=self_url, rel="self")
    document.author({"name": "papertide"})
    document.language("en")
    document.generator("papertide")
    latest = None
    for item in items:
        paper = item.paper
        when = (item.entry.submitted_at if item.entry else None) or paper.published_at or paper.created_at
        latest = max(latest, when) if latest else when
        entry = document.add_entry(order="append")
        url = f"{base_url}/papers/{paper.arxiv_id}"
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(xml_safe(paper.title))
        entry.link(href=url, rel="alternate")
        entry.summary(xml_safe(paper.abstract or paper.title))
        for name in (paper.authors or [])[:MAX_ENTRY_AUTHORS]:
            name = xml_safe(name)
            entry.author({"name": name} if fmt == "atom" else {"name": name, "email": "unknown@arxiv.org" if paper.is_arxiv else "unknown@invalid"})
        if item.organization is not None:
            entry.category(term=xml_safe(item.organization.slug), label=xml_safe(item.organization.name))
        entry.published(paper.published_at or when)
        entry.updated(when)
    document.updated(latest or now)
    return document.atom_str(pretty=False) if fmt == "atom" else document.rss_str(pretty=False)


def _respond(request: Request, items: list[FeedItem], fmt: Format, title: str, subtitle: str, page_path: str) -> Response:
    base = deps.settings(request).base_url
    self_url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    body = build_feed(items, title=title, subtitle=subtitle, page_url=f"{base}{page_path}", self_url=self_url,
                      base_url=base, fmt=fmt, now=deps.now(request))
    return Response(body, media_type=MEDIA_TYPES[fmt])


# What the feed operations answer, for OpenAPI: the document in either format, or an Error.
FEED_ANSWERS = {200: {"description": "the feed", "content": {
    "application/atom+xml": {"schema": {"type": "string"}}, "application/rss+xml": {"schema": {"type": "string"}}}}}


@router.get("/daily.{fmt}", summary="The daily list as a feed", response_class=Response,
            responses={**FEED_ANSWERS, **error_responses(400, 404)})
def daily(request: Request, session: ReadSession, fmt: Format,
          date: Day = None, week: Week = None, month: Month = None, sort: Sort = "trending") -> Response:
    try:
        page = feed.daily_feed(session, day=date, week=week, month=month, sort=sort, now=deps.now(request), limit=100,
                               strict=True)
    except feed.InvalidQuery as problem:
        return json_error(404 if isinstance(problem, feed.NoSuchPeriod) else 400, str(problem))
    label = page.period.label if page.period else "nothing yet"
    path = "/?" + urlencode(page.period.query) if page.period else "/"
    return _respond(request, page.items, fmt, f"Daily papers: {label}", "Papers submitted to the daily list", path)


@router.get("/trending.{fmt}", summary="Trending papers as a feed", response_class=Response, responses=FEED_ANSWERS)
def trending(request: Request, session: ReadSession, fmt: Format) -> Response:
    items = feed.trending(session, deps.now(request), limit=50)
    return _respond(request, items, fmt, "Trending papers", "Papers rising with votes this week", "/trending")


@router.get("/organizations/{slug}.{fmt}", summary="An organisation's papers as a feed", response_class=Response,
            responses={**FEED_ANSWERS, **error_responses(404)})
def organization(request: Request, session: ReadSession, slug: str, fmt: Format) -> Response:
    page = feed.organization_page(session, slug, sort="newest", now=deps.now(request), limit=50)
    if page is None:
        return json_error(404, "no such organization")
    org = page.organization
    return _respond(request, page.items, fmt, f"Papers from {org.name}", f"New papers from {org.name}",
                    f"/orgs/{org.slug}")


@router.get("/search.{fmt}", summary="A saved search as a feed", response_class=Response, responses=FEED_ANSWERS)
def search(request: Request, session: ReadSession, fmt: Format,
           q: Annotated[str, Query(min_length=1, max_length=feed.MAX_QUERY)]) -> Response:
    hits = search_papers(deps.database(request), q, limit=50)
    items = feed.items_by_ids(session, [hit.arxiv_id for hit in hits], now=deps.now(request))
    items = feed.sort_items(items, "newest")
    return _respond(request, items, fmt, f"Papers matching “{q}”", f"New papers matching {q}", "/search?" + urlencode({"q": q}))
