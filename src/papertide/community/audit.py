"""The moderators' audit trail, told with names: "alice hid «Paper title»", not "user 2 / paper 9847".

``ModerationAction`` rows keep ids (a title or a username may change; the id does not); this
module looks the names up when the trail is read, a page of entries at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from papertide.catalog.models import Paper
from papertide.community.models import Comment, ModerationAction, User

VERBS = {
    "hide_paper": "hid", "unhide_paper": "unhid",
    "hide_comment": "removed", "unhide_comment": "restored",
    "block_user": "blocked", "unblock_user": "unblocked",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    moderator: str
    action: str
    target_type: str  # paper | comment | user
    target_id: int
    reason: str | None
    created_at: datetime
    target_name: str  # the paper's title (also a comment's paper's), or the username
    comment_author: str | None = None  # for comments: whose comment it was
    url: str | None = None  # where the target is, when it has a page

    @property
    def verb(self) -> str:
        return VERBS.get(self.action, self.action.replace("_", " "))

    @property
    def target(self) -> str:
        """The target as the sentence names it."""
        if self.url is None:  # deleted since: its kind and id are all there is
            return self.target_name
        if self.target_type == "comment":
            return f"{self.comment_author}'s comment on «{self.target_name}»"
        return f"«{self.target_name}»" if self.target_type == "paper" else self.target_name

    @property
    def sentence(self) -> str:
        return f"{self.moderator} {self.verb} {self.target}"


def _papers(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    rows = session.execute(select(Paper.id, Paper.title, Paper.arxiv_id).where(Paper.id.in_(ids))) if ids else ()
    return {paper_id: (title, arxiv_id) for paper_id, title, arxiv_id in rows}


def _comments(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Comment.id, User.username, Paper.title, Paper.arxiv_id)
        .join(User, User.id == Comment.user_id).join(Paper, Paper.id == Comment.paper_id).where(Comment.id.in_(ids))
    )
    return {comment_id: (author, title, arxiv_id) for comment_id, author, title, arxiv_id in rows}


def _users(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids))) if ids else ()
    return {user_id: username for user_id, username in rows}


def audit_log(session: Session, *, limit: int = 100) -> list[AuditEntry]:
    """The newest moderation actions first, each naming who did what to what."""
    moderator = aliased(User)
    rows = session.execute(
        select(ModerationAction, moderator.username).join(moderator, moderator.id == ModerationAction.moderator_id)
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()).limit(limit)
    ).all()
    wanted: dict[str, set[int]] = {"paper": set(), "comment": set(), "user": set()}
    for action, _ in rows:
        wanted.setdefault(action.target_type, set()).add(action.target_id)
    papers, comments, users = _papers(session, wanted["paper"]), _comments(session, wanted["comment"]), _users(session, wanted["user"])
    entries = []
    for action, name in rows:
        kind, target_id = action.target_type, action.target_id
        author, url, label = None, None, f"{kind} {target_id} (gone)"
        if kind == "paper" and target_id in papers:
            label, arxiv_id = papers[target_id]
            url = f"/papers/{arxiv_id}"
        elif kind == "comment" and target_id in comments:
            author, label, arxiv_id = comments[target_id]
            url = f"/papers/{arxiv_id}#comment-{target_id}"
        elif kind == "user" and target_id in users:
            label, url = users[target_id], f"/admin#user-{users[target_id]}"
        entries.append(AuditEntry(action.id, name, action.action, kind, target_id, action.reason, action.created_at,
                                  label, author if kind == "comment" else None, url))
    return entries
