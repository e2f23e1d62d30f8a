"""A paper's discussion as readers see it: top-level comments, oldest first, each with its replies.

What each comment shows depends on what happened to it and who is looking:

* a live comment shows its text (and "edited" once its author changed it);
* a comment removed by a moderator stays in place with the reason instead of its text;
* a deleted comment, or one whose author is blocked, shows as a placeholder only while it is the
  top of a thread with replies to read, and is left out otherwise;
* moderators also read removed comments and blocked authors' comments, to review them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.community.comments import DELETED, REMOVED, SHOWN, WITHHELD, CommentView, view_of
from papertide.community.models import Comment, User


def _state(comment: Comment, author_blocked: bool) -> str:
    if comment.deleted_at is not None:
        return DELETED
    if comment.hidden:
        return REMOVED
    return WITHHELD if author_blocked else SHOWN


def _stands_alone(state: str, moderator: bool) -> bool:
    """Whether a comment in this state is shown even with no replies under it."""
    return state in (SHOWN, REMOVED) or (moderator and state == WITHHELD)


def _readable(state: str, moderator: bool) -> bool:
    return state == SHOWN or (moderator and state in (REMOVED, WITHHELD))


def _build(rows: Iterable[tuple[Comment, str, bool]], moderator: bool) -> list[CommentView]:
    """Top-level views with their shown replies nested, from rows oldest first."""
    roots: list[tuple[Comment, str, str]] = []
    replies: dict[int, list[CommentView]] = defaultdict(list)
    for comment, username, blocked in rows:
        state = _state(comment, blocked)
        if comment.parent_id is None:
            roots.append((comment, username, state))
        elif _stands_alone(state, moderator):
            replies[comment.parent_id].append(view_of(comment, username, state=state, readable=_readable(state, moderator)))
    thread = []
    for comment, username, state in roots:
        answers = tuple(replies.get(comment.id, ()))
        if answers or _stands_alone(state, moderator):
            thread.append(view_of(comment, username, state=state, readable=_readable(state, moderator), replies=answers))
    return thread


def _rows(session: Session, *conditions) -> list[tuple[Comment, str, bool]]:
    query = (
        select(Comment, User.username, User.is_blocked)
        .join(User, User.id == Comment.user_id)
        .where(*conditions)
        .order_by(Comment.created_at, Comment.id)
    )
    return [tuple(row) for row in session.execute(query)]


def thread(session: Session, arxiv_id: str, *, moderator: bool = False) -> list[CommentView]:
    """The paper's comments as its page shows them: top-level ones, each with ``replies``."""
    paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id))
    return _build(_rows(session, Comment.paper_id == paper_id), moderator) if paper_id is not None else []


def shown_count(roots: list[CommentView]) -> int:
    """How many comments of a thread show their text to readers (what its heading counts)."""
    return sum(1 for root in roots for comment in (root, *root.replies) if comment.state == SHOWN)


def list_comments(session: Session, arxiv_id: str, *, include_hidden: bool = False) -> list[CommentView]:
    """The same comments in reading order as one flat list (replies carry ``parent_id``), for the API."""
    flat = []
    for root in thread(session, arxiv_id, moderator=include_hidden):
        flat.append(root)
        flat.extend(root.replies)
    return flat


def thread_of(session: Session, comment_id: int, *, moderator: bool = False) -> CommentView | None:
    """The top-level comment whose thread holds ``comment_id``, with its replies, as a page shows
    it now; None when nothing of that thread is shown any more (what htmx swaps in after a change)."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        return None
    root_id = comment.parent_id or comment.id
    found = _build(_rows(session, (Comment.id == root_id) | (Comment.parent_id == root_id)), moderator)
    return found[0] if found else None


def get_comment(session: Session, comment_id: int, *, moderator: bool = False) -> CommentView | None:
    """One comment as the viewer may see it (its replies left out)."""
    row = session.execute(
        select(Comment, User.username, User.is_blocked).join(User, User.id == Comment.user_id).where(Comment.id == comment_id)
    ).first()
    if row is None:
        return None
    comment, username, blocked = row
    state = _state(comment, blocked)
    return view_of(comment, username, state=state, readable=_readable(state, moderator))
