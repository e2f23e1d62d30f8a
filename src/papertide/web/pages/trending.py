"""``/trending``: the papers whose votes outpace their age, and what gained votes lately.

Both lists name the days they cover, and when those days are empty they say so and show the
newest days that are not (an archive read in December lists August, and says "August").
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from papertide import feed, ranking
from papertide.web import reader_pages
from papertide.web.charts import Bar, bar_list
from papertide.web.deps import database, now
from papertide.web.rendering import feed_link, render_page

router = APIRouter()
DAYS = 7
RISING = 8


@router.get("/trending", response_class=HTMLResponse)
def trending_page(request: Request) -> HTMLResponse:
    return reader_pages.respond(request, lambda context: _trending_page(request, context))


def _trending_page(request: Request, context: dict) -> HTMLResponse:
    clock = now(request)
    with database(request).session() as session:
        window = feed.trending_window(session, clock, days=DAYS)
        items = feed.trending(session, clock, window=window, limit=30)
        rising = feed.rising(session, clock, days=DAYS, limit=RISING)
        voted = reader_pages.voted_ids(session, context["user"], [i.paper.id for i in items])
    recent = feed.recent_days(clock, DAYS)
    return render_page(request, context, "trending.html", nav="trending", items=items, voted_ids=voted,
                       days=DAYS, window=window, window_label=feed.date_span(window.first, window.last),
                       recent_label=feed.date_span(recent.first, recent.last), rising_chart=rising_chart(rising, items), rising_votes=bool(rising),
                       gravity=ranking.GRAVITY, offset=ranking.OFFSET_HOURS,
                       feed_links=[feed_link("Trending papers", "trending")])


def rising_chart(rising: list[feed.RisingItem], trending: list[feed.FeedItem]):
    """Each paper's upvotes, with those gained in the last days set apart at the bar's end, so a
    vote or three does not turn a chart of 163/92/74 into full-width bars of "+1". When nobody
    voted lately: the most upvoted papers of the trending window, plainly as that."""
    if rising:
        bars = [Bar(r.item.paper.title, r.item.upvotes, f"/papers/{r.item.paper.arxiv_id}",
                    f"+{r.recent_votes} · {r.item.upvotes}", part=r.recent_votes) for r in rising]
        return bar_list(bars, title="Upvotes, with those gained lately set apart")
    top = sorted(trending, key=lambda item: item.upvotes, reverse=True)[:RISING]
    if not top:
        return None
    return bar_list([Bar(i.paper.title, i.upvotes, f"/papers/{i.paper.arxiv_id}") for i in top], title="Most upvoted papers")
