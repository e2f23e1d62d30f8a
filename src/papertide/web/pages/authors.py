"""``/authors/{name}``: an author's papers, found by any spelling of the name, with a follow button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide import feed
from papertide.community import follows, votes
from papertide.web.deps import database, now
from papertide.web.rendering import author_url, page_context, query_url, render_page

router = APIRouter()
SORT_LABELS = (("newest", "Newest"), ("upvotes", "Most upvoted"), ("trending", "Trending"))


@router.get("/authors/{name:path}", response_class=HTMLResponse)
def author_page(request: Request, name: str, sort: str = "newest", p: int = 0):
    context = page_context(request)
    with database(request).session() as session:
        try:
            page = feed.author_page(session, name, sort=sort, now=now(request), page=p, limit=30)
        except feed.InvalidQuery as error:
            return render_page(request, context, "error.html", status_code=400, error_title="Bad request", error_text=str(error))
        if page is None:
            return render_page(request, context, "error.html", status_code=404, error_title="Author not found",
                               error_text=f"No paper here lists {name[:80]!r} as an author.")
        if page.name != name:  # "ada lovelace", "Ada  Lovelace": one canonical address
            return RedirectResponse(query_url(author_url(page.name), sort=None if sort == "newest" else sort,
                                              p=p or None), status_code=301)
        user = context["user"]
        voted = votes.voted_papers(session, user.id, [i.paper.id for i in page.items]) if user else set()
        following = follows.is_following(session, user.id if user else None, "author", page.key)
    sort = feed.normalise_sort(sort)
    base = author_url(page.name)
    pills = [(key, label, query_url(base, sort=None if key == "newest" else key)) for key, label in SORT_LABELS]
    more = query_url(base, sort=None if sort == "newest" else sort, p=page.page + 1) if page.has_more else None
    return render_page(request, context, "author.html", author=page, items=page.items, voted_ids=voted, sort=sort,
                       sort_pills=pills, more_url=more, following=following, follow_kind="author",
                       follow_name=page.name, next=base)
