"""``/``: the daily list, for a day, an ISO week or a month, with its sorts and navigation."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from papertide import feed
from papertide.web import reader_pages
from papertide.web.deps import database, now
from papertide.web.inputs import PageNumber
from papertide.web.paging import pager
from papertide.web.rendering import query_url, long_date, render_page
from papertide.worker.status import catalog_updated_at

router = APIRouter()

PAGE_SIZE = {"day": 50, "week": 100, "month": 100}
SORT_LABELS = (("trending", "Trending"), ("upvotes", "Most upvoted"), ("newest", "Newest"))


@router.get("/", response_class=HTMLResponse)
def daily_page(request: Request, date: str | None = None, week: str | None = None, month: str | None = None,
               sort: str = "trending", p: PageNumber = 0) -> HTMLResponse:
    return reader_pages.respond(request, lambda context: _daily_page(request, context, date, week, month, sort, p))


def _daily_page(request: Request, context: dict, date: str | None, week: str | None, month: str | None,
                sort: str, p: int) -> HTMLResponse:
    kind = "week" if week else "month" if month else "day"
    with database(request).session() as session:
        try:
            page = feed.daily_feed(session, day=date, week=week, month=month, sort=sort, now=now(request),
                                    page=p, limit=PAGE_SIZE[kind])
        except feed.InvalidQuery as error:
            return render_page(request, context, "error.html", status_code=400, nav="daily",
                               error_title="That is not a date we understand", error_text=str(error))
        voted = reader_pages.voted_ids(session, context["user"], [i.paper.id for i in page.items])
        updated_at = catalog_updated_at(session)
        choices = feed.periods_with_papers(session, kind) if page.period and kind != "day" else []
        if choices and page.period not in choices:  # an empty week asked for by its URL is still the one shown
            choices = sorted([*choices, page.period], key=lambda period: period.start, reverse=True)
    return render_page(request, context, "daily.html", nav="daily", voted_ids=voted, period_choices=choices,
                       catalog_updated_at=updated_at,
                       **feed_context(page))


def feed_context(page: feed.FeedPage) -> dict:
    """Headings, tabs, sort pills, neighbour links and the pager for a page of the daily list."""
    period, sort = page.period, page.sort
    default_sort = None if sort == "trending" else sort

    def link(target: feed.Period | None, **extra) -> str | None:
        return query_url("/", **target.query, sort=default_sort, **extra) if target else None

    if period is None:
        return {"items": [], "total": 0, "period": "none", "sort": sort, "heading": "No papers yet",
                "prev_url": None, "next_url": None, "period_tabs": [], "sort_pills": [], "top_orgs": [], "pager": None}
    # Switching to a shorter period lands on the newest day shown, not on an empty first day.
    days = [item.entry.daily_date for item in page.items if item.entry is not None]
    anchor = max(days) if days and period.kind != "day" else period.start
    tabs = [
        ("day", "Day", link(feed.day_period(anchor) if period.kind != "day" else period)),
        ("week", "Week", link(feed.week_period(anchor))),
        ("month", "Month", link(feed.month_period(anchor))),
    ]
    pills = [(key, label, query_url("/", **period.query, sort=None if key == "trending" else key)) for key, label in SORT_LABELS]
    organisations = Counter(item.organization for item in page.items if item.organization is not None)
    return {
        "items": page.items,
        "total": page.total,
        "period": period.kind,
        "period_key": period.key,
        "period_param": period.param,
        "sort": sort,
        "heading": long_date(period.start) if period.kind == "day" else period.label,
        "day_value": period.start.isoformat(),
        "prev_url": link(page.prev),
        "next_url": link(page.next),
        "period_tabs": tabs,
        "sort_pills": pills,
        "top_orgs": [{"slug": o.slug, "name": o.name, "count": n} for o, n in organisations.most_common(8)],
        "pager": pager(page.page, page.limit, len(page.items), page.total, lambda n: link(period, p=n)),
    }
