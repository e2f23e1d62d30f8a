"""Upvotes: one per user per paper, toggled on and off.

The unique constraint on (user, paper) is what makes "one vote" true under any concurrency; the
paper's ``vote_count`` is changed by an atomic ``UPDATE ... SET vote_count = vote_count ± 1`` in
the same transaction as the vote row, so the count always equals the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.catalog import versions
from papertide.community.accounts import require_active
from papertide.community.errors import NotFound
from papertide.community.models import Vote
from papertide.db import dialect_insert
from papertide.orm import utcnow

_votes = Vote.__table__
_papers = Paper.__table__


class VoteResult(NamedTuple):
    voted: bool  # whether the user's vote is on after the call
    upvotes: int  # the paper's total upvotes after the call (imported + papertide's own)


def _visible_paper_id(session: Session, arxiv_id: str) -> int:
    """The paper's id, its row locked for this transaction (PostgreSQL; SQLite serialises writers
    anyway). Every vote on a paper updates its row, so the lock costs no concurrency, and it makes
    a toggle see the vote a racing request just committed: two racing toggles flip twice."""
    paper_id = session.scalar(
        select(_papers.c.id).where(_papers.c.arxiv_id == arxiv_id, _papers.c.hidden.is_(False)).with_for_update()
    )
    if paper_id is None:
        raise NotFound(f"no paper {arxiv_id!r}")
    return paper_id


def toggle_vote(session: Session, user_id: int, arxiv_id: str, *, now: datetime | None = None) -> VoteResult:
    """Turn the user's vote on ``arxiv_id`` on if it was off, off if it was on (cast at ``now``)."""
    require_active(session, user_id)
    paper_id = _visible_paper_id(session, arxiv_id)
    removed = session.execute(delete(_votes).where(_votes.c.user_id == user_id, _votes.c.paper_id == paper_id)).rowcount
    if removed:
        return VoteResult(False, _change_count(session, paper_id, -removed))
    return VoteResult(True, _add(session, user_id, paper_id, now))


def set_vote(session: Session, user_id: int, arxiv_id: str, on: bool, *, now: datetime | None = None) -> VoteResult:
    """Make the user's vote on ``arxiv_id`` be ``on`` (idempotent: safe to retry)."""
    require_active(session, user_id)
    paper_id = _visible_paper_id(session, arxiv_id)
    if on:
        return VoteResult(True, _add(session, user_id, paper_id, now))
    removed = session.execute(delete(_votes).where(_votes.c.user_id == user_id, _votes.c.paper_id == paper_id)).rowcount
    return VoteResult(False, _change_count(session, paper_id, -removed))


def _add(session: Session, user_id: int, paper_id: int, now: datetime | None) -> int:
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    inserted = session.execute(
        dialect_insert(session, _votes).values(user_id=user_id, paper_id=paper_id, created_at=now or utcnow())
        .on_conflict_do_nothing().returning(_votes.c.id)
    ).first()
    return _change_count(session, paper_id, 1 if inserted is not None else 0)


def _change_count(session: Session, paper_id: int, delta: int) -> int:
    """Apply ``delta`` to the paper's count; returns its total upvotes."""
    total = _papers.c.imported_upvotes + _papers.c.vote_count
    if not delta:
        return session.scalar(select(total).where(_papers.c.id == paper_id))
    versions.bump_for_paper(session, paper_id)
    return session.scalar(
        update(_papers).where(_papers.c.id == paper_id).values(vote_count=_papers.c.vote_count + delta).returning(total)
    )


# Built once: every signed-in list page asks, and building the statement cost more than running it.
_VOTED = select(_votes.c.paper_id).where(_votes.c.user_id == bindparam("user_id"),
                                         _votes.c.paper_id.in_(bindparam("paper_ids", expanding=True)))


def voted_papers(session: Session | Connection, user_id: int | None, paper_ids: Iterable[int]) -> set[int]:
    """Which of ``paper_ids`` the user has upvoted (for drawing vote buttons as on or off)."""
    paper_ids = list(paper_ids)
    if user_id is None or not paper_ids:
        return set()
    return set(session.scalars(_VOTED, {"user_id": user_id, "paper_ids": paper_ids}))


def has_voted(session: Session, user_id: int | None, arxiv_id: str) -> bool:
    if user_id is None:
        return False
    return session.scalar(
        select(_votes.c.id).join(_papers, _papers.c.id == _votes.c.paper_id)
        .where(_votes.c.user_id == user_id, _papers.c.arxiv_id == arxiv_id)
    ) is not None
