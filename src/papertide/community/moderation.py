"""Moderation: hide and unhide papers and comments, block and unblock users; every act audited.

Hiding is reversible and keeps the data: hidden papers leave every list, search result, feed and
API answer; a hidden ("removed") comment stays in its thread with the moderator's reason in place
of its text. A blocked user cannot log in (they are told why), vote, comment or submit, and their
comments are no longer shown. Hiding and blocking need a reason; each action writes a
``ModerationAction`` row, which the audit trail shows by name ("alice hid «title»").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.catalog import versions
from papertide.community.comments import change_count, counted
from papertide.community.errors import CommunityError, Forbidden, NotFound
from papertide.community.models import Comment, ModerationAction, User
from papertide.orm import utcnow

MAX_REASON = 500


def required_reason(reason: str | None) -> str:
    """The reason a hide or block must give (it is shown to people and kept in the audit trail)."""
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise CommunityError("give a reason: it is shown in place of what you hide and kept in the audit trail")
    return reason


def _moderator(session: Session, moderator_id: int) -> User:
    user = session.get(User, moderator_id)
    if user is None or not user.is_admin or user.is_blocked:
        raise Forbidden("only moderators can do that")
    return user


def _audit(session: Session, moderator: User, action: str, target_type: str, target_id: int, reason: str | None) -> None:
    reason = (reason or "").strip()[:MAX_REASON] or None
    session.add(ModerationAction(moderator_id=moderator.id, action=action, target_type=target_type,
                                 target_id=target_id, reason=reason, created_at=utcnow()))


def _paper(session: Session, arxiv_id: str) -> Paper:
    paper = session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))
    if paper is None:
        raise NotFound(f"no paper {arxiv_id!r}")
    return paper


def hide_paper(session: Session, moderator_id: int, arxiv_id: str, reason: str | None = None) -> None:
    moderator = _moderator(session, moderator_id)
    reason = required_reason(reason)
    paper = _paper(session, arxiv_id)
    paper.hidden = True
    paper.hidden_reason = reason
    _audit(session, moderator, "hide_paper", "paper", paper.id, reason)
    versions.bump_for_paper(session, paper.id)


def unhide_paper(session: Session, moderator_id: int, arxiv_id: str, reason: str | None = None) -> None:
    moderator = _moderator(session, moderator_id)
    paper = _paper(session, arxiv_id)
    paper.hidden = False
    paper.hidden_reason = None
    _audit(session, moderator, "unhide_paper", "paper", paper.id, reason)
    versions.bump_for_paper(session, paper.id)


def _set_comment_hidden(session: Session, moderator_id: int, comment_id: int, hidden: bool, reason: str | None) -> None:
    moderator = _moderator(session, moderator_id)
    reason = required_reason(reason) if hidden else reason
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(f"no comment {comment_id}")
    was_counted = counted(comment)
    comment.hidden, comment.removed_reason = hidden, reason if hidden else None
    change_count(session, comment.paper_id, int(counted(comment)) - int(was_counted))
    _audit(session, moderator, "hide_comment" if hidden else "unhide_comment", "comment", comment.id, reason)


def hide_comment(session: Session, moderator_id: int, comment_id: int, reason: str | None = None) -> None:
    _set_comment_hidden(session, moderator_id, comment_id, True, reason)


def unhide_comment(session: Session, moderator_id: int, comment_id: int, reason: str | None = None) -> None:
    _set_comment_hidden(session, moderator_id, comment_id, False, reason)


def _set_blocked(session: Session, moderator_id: int, username: str, blocked: bool, reason: str | None) -> None:
    moderator = _moderator(session, moderator_id)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.id == moderator.id:
        raise CommunityError("moderators cannot block themselves")
    reason = required_reason(reason) if blocked else reason
    user.is_blocked, user.blocked_reason = blocked, reason if blocked else None
    _audit(session, moderator, "block_user" if blocked else "unblock_user", "user", user.id, reason)
    versions.bump(session, versions.CATALOG)


def block_user(session: Session, moderator_id: int, username: str, reason: str | None = None) -> None:
    _set_blocked(session, moderator_id, username, True, reason)


def unblock_user(session: Session, moderator_id: int, username: str, reason: str | None = None) -> None:
    _set_blocked(session, moderator_id, username, False, reason)


@dataclass(frozen=True)
class HiddenPaper:
    arxiv_id: str
    title: str
    reason: str | None


def hidden_papers(session: Session, *, limit: int = 200) -> list[HiddenPaper]:
    rows = session.execute(select(Paper.arxiv_id, Paper.title, Paper.hidden_reason).where(Paper.hidden.is_(True)).limit(limit))
    return [HiddenPaper(*row) for row in rows]


@dataclass(frozen=True)
class UserRow:
    username: str
    is_admin: bool
    is_blocked: bool
    created_at: datetime
    blocked_reason: str | None = None


def list_users(session: Session, *, blocked_only: bool = False, limit: int = 200) -> list[UserRow]:
    query = (select(User.username, User.is_admin, User.is_blocked, User.created_at, User.blocked_reason)
             .order_by(User.created_at.desc()).limit(limit))
    if blocked_only:
        query = query.where(User.is_blocked.is_(True))
    return [UserRow(*row) for row in session.execute(query)]


def recent_comments(session: Session, *, limit: int = 100) -> list[tuple[int, str, str, str, bool]]:
    """(comment id, paper arxiv id, author, body, hidden) of the newest comments not deleted by
    their authors, for the admin view."""
    rows = session.execute(
        select(Comment.id, Paper.arxiv_id, User.username, Comment.body, Comment.hidden)
        .join(Paper, Paper.id == Comment.paper_id).join(User, User.id == Comment.user_id)
        .where(Comment.deleted_at.is_(None))
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit)
    )
    return [tuple(row) for row in rows]
