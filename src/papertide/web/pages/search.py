"""``/search?q=``: papers by title, abstract, authors or arXiv id, filtered by date and organisation,
``RESULTS`` a page (``p``, as on the daily list).

Beside the results: "showing results for" a corrected query (``exact=1`` searches the words as
typed), the author a name query found (their papers first, then the others), and when nothing
matches, related papers in a list of their own, never counted as results.

The same URL serves the whole page and, for search-as-you-type, htmx takes just ``#results`` out
of it (``hx-select``): one response per query string, so the page cache serves both.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide import feed
from papertide.catalog.paper_ids import normalise_paper_id
from papertide.catalog.organizations import list_organizations
from papertide.web import reader_pages
from papertide.web.cache import Memo
from papertide.web.deps import database, now
from papertide.web.inputs import PageNumber
from papertide.web.rendering import feed_link, query_url, render_page
from papertide.search import MAX_RESULTS, SearchAnswer, search_answer

router = APIRouter()
RESULTS = 30
SUGGESTIONS = ("diffusion", "reasoning", "LLM agents", "video generation", "reinforcement learning", "2405.15738")


_organizations = Memo(ttl=300.0, max_entries=16)


def organization_choices(session, database_url: str) -> list[tuple[str, str, int]]:
    """(slug, name, papers) for the filter menu. Counting papers per organisation scans the
    catalog, and the menu need not be exact to the minute: kept per worker for five minutes."""
    return _organizations.get(database_url, lambda: [
        (org.slug, org.name, count) for org, count in list_organizations(session, limit=150)
    ])


def _date(text: str | None) -> date | None:
    """An optional day of the filter; ``feed.InvalidQuery`` when it is not one the list serves."""
    return feed.parse_day(text) if text and text.strip() else None


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", date_from: str | None = None, date_to: str | None = None,
                org: str | None = None, go: str | None = None, exact: str | None = None, p: PageNumber = 0):
    return reader_pages.respond(request, lambda context: _search_page(request, context, q, date_from, date_to, org, go,
                                                                      exact, p))


def _search_page(request: Request, context: dict, q: str, date_from: str | None, date_to: str | None,
                 org: str | None, go: str | None, exact: str | None, p: int):
    q = q.strip()[: feed.MAX_QUERY]
    try:
        start, end = _date(date_from), _date(date_to)
    except feed.InvalidQuery as error:
        return render_page(request, context, "error.html", status_code=400, nav="search",
                           error_title="That is not a date we understand", error_text=str(error))
    with database(request).session() as session:
        if go and (exact := normalise_paper_id(q)) and feed.get_paper_item(session, exact):
            return RedirectResponse(f"/papers/{exact}", status_code=303)  # "I'm feeling lucky" on an id
        first, deepest = p * RESULTS, min((p + 1) * RESULTS, MAX_RESULTS)
        answer = search_answer(database(request), q, limit=deepest, published_from=start, published_until=end,
                               organization=org or None, correct=not exact) if q and first < deepest else SearchAnswer([])
        hits = answer.hits
        items = feed.items_by_ids(session, [hit.arxiv_id for hit in hits[first:deepest]], now=now(request))
        related = feed.items_by_ids(session, [hit.arxiv_id for hit in answer.related], now=now(request)) if not p else []
        organizations = organization_choices(session, database(request).url)
        voted = reader_pages.voted_ids(session, context["user"], [i.paper.id for i in items + related])
    more = len(hits) == deepest < MAX_RESULTS  # a full page, and search could go deeper
    filters = {k: v for k, v in (("date_from", start), ("date_to", end), ("org", org)) if v}
    more_url = query_url("/search", q=q, **filters, exact=exact and 1, p=p + 1) if more else None
    author_hits = max(0, min(answer.author_hits - first, len(items)))  # the author's papers come first
    return render_page(request, context, "search.html", nav="search", query=q, items=items, voted_ids=voted,
                       date_from=start, date_to=end, org=org or "", organizations=organizations,
                       suggestions=SUGGESTIONS, page=p, first=first, more_url=more_url,
                       answer=answer, author_hits=author_hits, related=related,
                       feed_links=[feed_link(f"papers matching “{q}”", "search", q=q)] if q else [],
                       as_typed_url="/search?" + urlencode({"q": q, **filters, "exact": 1}),
                       corrected_url="/search?" + urlencode({"q": answer.showing_for or "", **filters}))
