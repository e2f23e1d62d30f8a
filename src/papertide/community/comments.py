"""Comments: written as plain text or Markdown, shown as sanitised HTML.

Rendering is two locks, not one: markdown-it runs with raw HTML disabled (so ``<script>`` stays
text), and its output is cleaned by nh3 (Rust's ammonia) with a short allow-list of tags and
only http(s)/mailto links, which get ``rel="nofollow noopener ugc"``. The stored body is what the
person wrote; rendering happens on output, so a stricter policy applies to old comments too.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.catalog import versions
from papertide.catalog.text import strip_unsafe
from papertide.community.accounts import require_active
from papertide.community.errors import CommunityError, NotFound
from papertide.community.models import Comment, User
from papertide.orm import utcnow

MAX_COMMENT = 5_000
ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "del", "h3", "h4"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


@dataclass(frozen=True)
class CommentView:
    """A comment as pages and the API show it. ``html`` is sanitised and safe to emit as-is."""

    id: int
    paper_id: int
    author: str
    body: str
    html: str
    created_at: datetime
    parent_id: int | None
    hidden: bool


@lru_cache(maxsize=4096)
def render_markdown(body: str) -> str:
    """Markdown (or plain text) to sanitised HTML."""
    html = _markdown.render(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )


def clean_body(body: str) -> str:
    """Normalise and bound a comment; raises ``CommunityError`` when empty or too long."""
    body = strip_unsafe(unicodedata.normalize("NFC", body or "")).replace("\r\n", "\n").strip()
    if not body:
        raise CommunityError("a comment cannot be empty")
    if len(body) > MAX_COMMENT:
        raise CommunityError(f"a comment is at most {MAX_COMMENT:,} characters (this one has {len(body):,})")
    return body


def add_comment(session: Session, user_id: int, arxiv_id: str, body: str, parent_id: int | None = None, *,
                now: datetime | None = None) -> CommentView:
    """Add a comment (optionally a reply) to a visible paper; returns it rendered."""
    account = require_active(session, user_id)
    body = clean_body(body)
    paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False)))
    if paper_id is None:
        raise NotFound(f"no paper {arxiv_id!r}")
    if parent_id is not None:
        parent_paper = session.scalar(select(Comment.paper_id).where(Comment.id == parent_id))
        if parent_paper != paper_id:
            raise CommunityError("the comment replied to is not on this paper")
    comment = Comment(paper_id=paper_id, user_id=user_id, parent_id=parent_id, body=body, hidden=False, created_at=now or utcnow())
    session.add(comment)
    session.flush()
    session.execute(update(Paper).where(Paper.id == paper_id).values(comment_count=Paper.comment_count + 1))
    versions.bump_for_paper(session, paper_id)
    return _view(comment, account.username)


def list_comments(session: Session, arxiv_id: str, *, include_hidden: bool = False) -> list[CommentView]:
    """A paper's comments, oldest first (replies carry ``parent_id``)."""
    query = (
        select(Comment, User.username)
        .join(User, User.id == Comment.user_id)
        .join(Paper, Paper.id == Comment.paper_id)
        .where(Paper.arxiv_id == arxiv_id)
        .order_by(Comment.created_at, Comment.id)
    )
    if not include_hidden:
        query = query.where(Comment.hidden.is_(False), User.is_blocked.is_(False))
    return [_view(comment, username) for comment, username in session.execute(query)]


def _view(comment: Comment, username: str) -> CommentView:
    return CommentView(
        id=comment.id,
        paper_id=comment.paper_id,
        author=username,
        body=comment.body,
        html=render_markdown(comment.body),
        created_at=comment.created_at,
        parent_id=comment.parent_id,
        hidden=comment.hidden,
    )


def get_comment(session: Session, comment_id: int) -> CommentView | None:
    """One comment, hidden or not (for moderators' views)."""
    row = session.execute(select(Comment, User.username).join(User, User.id == Comment.user_id).where(Comment.id == comment_id)).first()
    return _view(*row) if row else None
