"""``/trending``: the papers whose votes outpace their age, and a chart of what is rising this week."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from papertide import ranking
from papertide import feed
from papertide.community import votes
from papertide.web.charts import Bar, bar_chart
from papertide.web.deps import database, now
from papertide.web.rendering import page_context, render_page

router = APIRouter()


@router.get("/trending", response_class=HTMLResponse)
def trending_page(request: Request) -> HTMLResponse:
    context = page_context(request)
    clock = now(request)
    with database(request).session() as session:
        items = feed.trending(session, clock, days=7, limit=30)
        rising = feed.rising(session, clock, days=7, limit=8)
        user = context["user"]
        voted = votes.voted_papers(session, user.id, [i.paper.id for i in items]) if user else set()
    return render_page(request, context, "trending.html", nav="trending", items=items, voted_ids=voted,
                       rising_chart=rising_chart(rising), gravity=ranking.GRAVITY, offset=ranking.OFFSET_HOURS)


def rising_chart(rising: list[feed.RisingItem]):
    """Bars of votes gained this week; when nobody voted this week, of total upvotes instead."""
    if not rising:
        return None
    if any(r.recent_votes for r in rising):
        bars = [Bar(r.item.paper.title, r.recent_votes, f"/papers/{r.item.paper.arxiv_id}", f"+{r.recent_votes}") for r in rising]
        return bar_chart(bars, title="Upvotes gained in the last 7 days")
    bars = [Bar(r.item.paper.title, r.item.upvotes, f"/papers/{r.item.paper.arxiv_id}") for r in rising]
    return bar_chart(bars, title="Upvotes of this week's top papers")
