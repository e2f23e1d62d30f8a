"""``/papers/{id}.md``: a paper as Markdown, what Hugging Face's ``HfApi.read_paper`` reads.

Its router is included before the paper pages, whose ``/papers/{id}`` would take the ``.md`` as
part of the id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from papertide import feed
from papertide.feed import FeedItem
from papertide.web import deps
from papertide.web.session import check_token
from papertide.web.errors import error_responses, json_error

router = APIRouter(tags=["papers"], dependencies=[Depends(check_token)])
MEDIA_TYPE = "text/markdown; charset=utf-8"


def paper_markdown(item: FeedItem) -> str:
    """Title, facts as a list, then the abstract: the layout of Hugging Face's paper pages as Markdown."""
    paper = item.paper
    facts = [f"- arXiv: [{paper.arxiv_id}]({paper.abs_url})" if paper.is_arxiv else f"- Local id: {paper.arxiv_id} (not on arXiv)",
             f"- Authors: {', '.join(paper.authors or []) or 'unknown'}"]
    if paper.published_at:
        facts.append(f"- Published: {paper.published_at.date().isoformat()}")
    if item.entry is not None:
        facts.append(f"- On the daily list of: {item.entry.daily_date.isoformat()}")
    facts.append(f"- Upvotes: {item.upvotes}")
    if item.organization is not None:
        facts.append(f"- Organization: {item.organization.name}")
    if paper.github_repo:
        facts.append(f"- Code: {paper.github_repo}")
    if paper.project_page:
        facts.append(f"- Project page: {paper.project_page}")
    parts = [f"# {paper.title}", "\n".join(facts), f"## Abstract\n\n{paper.abstract or 'No abstract.'}"]
    if paper.ai_summary:
        parts.append(f"## Summary\n\n{paper.ai_summary}")
    return "\n\n".join(parts) + "\n"


@router.get("/papers/{arxiv_id:path}.md", summary="A paper as Markdown (Hugging Face compatible)",
            response_class=Response, responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
                                                      "description": "the paper page as Markdown"},
                                                **error_responses(404)})
def paper_md(session: Annotated[Session, Depends(deps.read_session)], arxiv_id: str) -> Response:
    item = feed.get_paper_item(session, arxiv_id)
    if item is None:
        return json_error(404, "Paper not found")
    return Response(paper_markdown(item), media_type=MEDIA_TYPE)
