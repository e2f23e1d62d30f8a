"""``/papers/{arxiv_id}``: one paper with its links, votes over time, comments, similar papers and BibTeX."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide.catalog import queries
from papertide.community import comments, votes
from papertide.web.charts import line_chart
from papertide.web.deps import database, now
from papertide.web.pages.rendering import page_context, render_page

router = APIRouter()


@router.get("/papers/{arxiv_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, arxiv_id: str):
    context = page_context(request)
    user = context["user"]
    moderator = bool(user and user.is_admin)
    clock = now(request)
    with database(request).session() as session:
        detail = queries.get_paper_detail(session, arxiv_id, now=clock, include_hidden=moderator)
        if detail is None:
            return render_page(request, context, "error.html", status_code=404, error_title="Paper not found",
                               error_text=f"papertide has no paper {arxiv_id[:60]!r}. You can submit it by its arXiv id.")
        paper = detail.paper
        if paper.arxiv_id != arxiv_id:  # 2405.15738v2, arXiv:..., an abs URL: one canonical address
            return RedirectResponse(f"/papers/{paper.arxiv_id}", status_code=301)
        history = queries.votes_over_time(session, paper.id, now=clock)
        context.update(
            item=detail.item,
            paper=paper,
            bibtex=detail.bibtex,
            voted=votes.has_voted(session, user.id, paper.arxiv_id) if user else False,
            comments=comments.list_comments(session, paper.arxiv_id, include_hidden=moderator),
            similar=queries.similar_papers(session, paper.arxiv_id, k=6, now=clock),
            local_votes=sum(point.votes for point in history),
            votes_chart=line_chart([(p.day, p.total) for p in history], title=f"Upvotes of {paper.title} over time"),
        )
    return render_page(request, context, "paper.html")
