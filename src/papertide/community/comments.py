"""Comments: written as plain text or Markdown, shown as sanitised HTML, in threads one level deep.

Rendering is two locks, not one: markdown-it runs with raw HTML disabled (so ``<script>`` stays
text), and its output is cleaned by nh3 (Rust's ammonia) with a short allow-list of tags and
only http(s)/mailto links, which get ``rel="nofollow noopener ugc"``. The stored body is what the
person wrote; rendering happens on output, so a stricter policy applies to old comments too.

Threads are one level deep, as on Hugging Face: a reply to a reply joins the top-level comment's
replies. People edit their own comments for ``EDIT_WINDOW`` after posting (marked "edited") and
delete them at any time; a deleted comment that has replies stays as a "deleted" placeholder so the
thread still reads. Reading a paper's thread is ``community.threads``'.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.catalog import versions
from papertide.catalog.text import strip_unsafe
from papertide.community.accounts import require_active
from papertide.community.errors import CommunityError, Forbidden, NotFound
from papertide.community.models import Comment
from papertide.orm import utcnow

MAX_COMMENT = 5_000
EDIT_WINDOW = timedelta(minutes=15)
ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "del", "h3", "h4"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")

# What a reader sees of a comment.
SHOWN = "shown"
DELETED = "deleted"  # by its author: a placeholder while it has replies
REMOVED = "removed"  # by a moderator: the reason in its place
WITHHELD = "withheld"  # its author is blocked: a placeholder while it has replies


@dataclass(frozen=True)
class CommentView:
    """A comment as pages and the API show it. ``html`` is sanitised and safe to emit as-is; it
    is empty unless the viewer may read the text (always for ``SHOWN``; moderators see more)."""

    id: int
    paper_id: int
    author: str
    author_id: int
    body: str
    html: str
    created_at: datetime
    parent_id: int | None
    state: str = SHOWN
    removed_reason: str | None = None
    edited_at: datetime | None = None
    replies: tuple["CommentView", ...] = ()

    @property
    def hidden(self) -> bool:
        """Removed by a moderator."""
        return self.state == REMOVED

    @property
    def editable_until(self) -> datetime:
        return self.created_at + EDIT_WINDOW

    def editable_by(self, user_id: int | None, now: datetime) -> bool:
        return self.state == SHOWN and user_id == self.author_id and now <= self.editable_until

    def deletable_by(self, user_id: int | None) -> bool:
        return self.state in (SHOWN, REMOVED) and user_id == self.author_id


def view_of(comment: Comment, username: str, *, state: str = SHOWN, readable: bool = True,
            replies: tuple[CommentView, ...] = ()) -> CommentView:
    """The view of one row; ``readable=False`` leaves out its text (a placeholder)."""
    body = comment.body if readable else ""
    return CommentView(
        id=comment.id, paper_id=comment.paper_id, author=username, author_id=comment.user_id, body=body,
        html=render_markdown(body) if body else "", created_at=comment.created_at, parent_id=comment.parent_id,
        state=state, removed_reason=comment.removed_reason if state == REMOVED else None,
        edited_at=comment.edited_at, replies=replies,
    )


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


def counted(comment: Comment) -> bool:
    """Whether the comment is in its paper's ``comment_count``: neither removed nor deleted."""
    return not comment.hidden and comment.deleted_at is None


def change_count(session: Session, paper_id: int, delta: int) -> None:
    """Move the paper's comment count by ``delta`` in SQL (no lost update under concurrency)."""
    if delta:
        session.execute(update(Paper).where(Paper.id == paper_id).values(comment_count=Paper.comment_count + delta))
    versions.bump_for_paper(session, paper_id)


def _thread_root(session: Session, paper_id: int, parent_id: int) -> int:
    """The top-level comment a reply to ``parent_id`` belongs under."""
    parent = session.get(Comment, parent_id)
    if parent is None or parent.paper_id != paper_id:
        raise CommunityError("the comment replied to is not on this paper")
    if parent.deleted_at is not None or parent.hidden:
        raise CommunityError("that comment is no longer there to reply to")
    return parent.parent_id if parent.parent_id is not None else parent.id


def add_comment(session: Session, user_id: int, arxiv_id: str, body: str, parent_id: int | None = None, *,
                now: datetime | None = None) -> CommentView:
    """Add a comment (or a reply, attached to its thread's top-level comment) to a visible paper."""
    account = require_active(session, user_id)
    body = clean_body(body)
    paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False)))
    if paper_id is None:
        raise NotFound(f"no paper {arxiv_id!r}")
    root_id = _thread_root(session, paper_id, parent_id) if parent_id is not None else None
    comment = Comment(paper_id=paper_id, user_id=user_id, parent_id=root_id, body=body, hidden=False, created_at=now or utcnow())
    session.add(comment)
    session.flush()
    change_count(session, paper_id, 1)
    return view_of(comment, account.username)


def _own(session: Session, user_id: int, comment_id: int, verb: str) -> Comment:
    """The comment, if ``user_id`` wrote it and it is still there; else ``NotFound`` / ``Forbidden``."""
    require_active(session, user_id)
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(f"no comment {comment_id}")
    if comment.user_id != user_id:
        raise Forbidden(f"you can only {verb} your own comments")
    return comment


def edit_comment(session: Session, user_id: int, comment_id: int, body: str, *, now: datetime | None = None) -> Comment:
    """Replace the text of one's own comment, within ``EDIT_WINDOW`` of posting it."""
    now = now or utcnow()
    comment = _own(session, user_id, comment_id, "edit")
    if comment.hidden:
        raise Forbidden("a comment removed by a moderator cannot be edited")
    if now > comment.created_at + EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise Forbidden(f"a comment can be edited for {minutes} minutes after it is posted")
    body = clean_body(body)
    if body != comment.body:
        comment.body, comment.edited_at = body, now
        versions.bump_for_paper(session, comment.paper_id)
    return comment


def delete_comment(session: Session, user_id: int, comment_id: int, *, now: datetime | None = None) -> Comment:
    """Delete one's own comment: its text goes; the row stays as long as replies need a place."""
    comment = _own(session, user_id, comment_id, "delete")
    was_counted = counted(comment)
    comment.body, comment.deleted_at = "", now or utcnow()
    change_count(session, comment.paper_id, -1 if was_counted else 0)
    return comment


def paper_of(session: Session, comment_id: int) -> str | None:
    """The arXiv id of the paper a comment is on (where to send a reader back to)."""
    return session.scalar(select(Paper.arxiv_id).join(Comment, Comment.paper_id == Paper.id).where(Comment.id == comment_id))
