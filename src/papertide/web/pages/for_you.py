"""``/for-you``: new papers picked for the signed-in reader, each with the reason it was picked."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from papertide import feed
from papertide.community import votes
from papertide.feed.for_you import MIN_SIGNALS
from papertide.web.deps import database, now
from papertide.web.rendering import page_context, render_page

router = APIRouter()


@router.get("/for-you", response_class=HTMLResponse)
def for_you_page(request: Request):
    context = page_context(request)
    user = context["user"]
    if user is None:
        return render_page(request, context, "for_you.html", nav="for-you", page=None, picks=[], voted_ids=set(),
                           needed=MIN_SIGNALS)
    with database(request).session() as session:
        page = feed.for_you(session, user.id, now=now(request))
        voted = votes.voted_papers(session, user.id, [pick.item.paper.id for pick in page.items])
    return render_page(request, context, "for_you.html", nav="for-you", page=page, picks=page.items, voted_ids=voted,
                       needed=MIN_SIGNALS)
