"""``/papers/{arxiv_id}``: one paper with its links, votes over time, comments, similar papers and BibTeX."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide import feed
from papertide.community import threads
from papertide.web import reader_pages
from papertide.web.cache import Memo
from papertide.web.charts import line_chart
from papertide.web.deps import database, now, settings
from papertide.web.errors import PageError
from papertide.web.rendering import render_page
from papertide.web.slots import holds
from papertide.search import similar_papers

router = APIRouter()
SIMILAR = 6
# Which papers are similar changes only when papers are added; their counts change all the time.
# So the neighbours' ids are kept per worker for ten minutes and their cards read fresh.
_similar_ids = Memo(ttl=600.0)


def similar_items(session, search_database, arxiv_id: str, clock) -> list[feed.FeedItem]:
    ids = _similar_ids.get((search_database.url, arxiv_id), lambda: [
        hit.arxiv_id for hit in similar_papers(search_database, arxiv_id, k=SIMILAR)
    ])
    return feed.items_by_ids(session, ids, now=clock)


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, arxiv_id: str):
    return reader_pages.respond(request, lambda context: _paper_page(request, context, arxiv_id))


def _paper_page(request: Request, context: dict, arxiv_id: str):
    user = context["user"]
    moderator = bool(user and user.is_admin)
    clock = now(request)
    with database(request).session() as session:
        detail = feed.get_paper_detail(session, arxiv_id, now=clock, include_hidden=moderator)
        if detail is None:  # a page for people, JSON for clients asking for it (web.errors)
            raise PageError(404, f"papertide has no paper {arxiv_id[:60]!r}. You can submit it by its arXiv id.",
                            title="Paper not found")
        paper = detail.paper
        if paper.arxiv_id != arxiv_id:  # 2405.15738v2, arXiv:..., an abs URL: one canonical address
            return RedirectResponse(f"/papers/{paper.arxiv_id}", status_code=301)
        history = feed.votes_over_time(session, paper.id, now=clock)
        thread = threads.thread(session, paper.arxiv_id, moderator=moderator)
        reader_pages.personal_for(user, comment_authors(thread))  # their comments carry edit and delete links
        voted = reader_pages.voted_ids(session, user, [paper.id])
        context.update(
            item=detail.item,
            paper=paper,
            bibtex=detail.bibtex,
            voted=holds(voted, paper.id),
            comments=thread,
            comment_count=threads.shown_count(thread),
            arxiv_id=paper.arxiv_id,
            now=clock,
            similar=similar_items(session, database(request), paper.arxiv_id, clock),
            local_votes=sum(point.votes for point in history),
            votes_chart=line_chart([(p.day, p.total) for p in history], title=f"Upvotes of {paper.title} over time"),
            menu=reader_pages.collection_menu(session, user, paper),
            base_url=settings(request).base_url.rstrip("/"),
            page_url=f"{settings(request).base_url.rstrip('/')}/papers/{paper.arxiv_id}",
        )
    return render_page(request, context, "paper.html")


def comment_authors(thread) -> set[int]:
    """The accounts that wrote a comment of ``thread``, replies included."""
    return {comment.author_id for comment in thread} | {a for comment in thread for a in comment_authors(comment.replies)}
