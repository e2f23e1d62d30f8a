"""Following authors and organisations: what a reader wants more of.

An author is followed by the normal form of the name (``catalog.authors.author_key``), so a
follow from a page that spells it "Zoë Ünal" also matches papers that write "Zoe Unal". An
organisation is followed by its slug, and must exist. Following is idempotent: following twice,
or unfollowing what was not followed, changes nothing and is no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papertide.catalog.authors import author_key
from papertide.catalog.models import Organization
from papertide.community.accounts import require_active
from papertide.community.errors import CommunityError, NotFound
from papertide.community.models import Follow
from papertide.db import dialect_insert
from papertide.orm import utcnow

Kind = Literal["author", "organization"]
KINDS: tuple[str, ...] = ("author", "organization")
MAX_FOLLOWS = 500  # per reader: enough for any real reading list, a bound for the ranking's work

_follows = Follow.__table__


@dataclass(frozen=True)
class Followed:
    kind: str
    key: str  # author key or organisation slug
    name: str  # as shown


def _target(session: Session, kind: str, name: str) -> tuple[str, str]:
    """(key, display name) of what ``kind``/``name`` designates; errors people can read."""
    if kind == "author":
        key = author_key(name)
        if not key:
            raise CommunityError("that is not an author's name")
        return key, " ".join(name.split())[:300]
    if kind == "organization":
        slug = (name or "").strip().lower()[:100]
        organization = session.scalar(select(Organization).where(func.lower(Organization.slug) == slug).limit(1))
        if organization is None:
            raise NotFound(f"no organisation {name[:60]!r}")
        return slug, organization.name
    raise CommunityError("one can follow an author or an organization")


def set_follow(session: Session, user_id: int, kind: str, name: str, on: bool, *, now: datetime | None = None) -> bool:
    """Follow (``on``) or stop following an author by name or an organisation by slug; returns
    whether it is followed afterwards."""
    require_active(session, user_id)
    key, shown = _target(session, kind, name)
    if not on:
        session.execute(delete(_follows).where(_follows.c.user_id == user_id, _follows.c.kind == kind, _follows.c.key == key))
        return False
    count = session.scalar(select(func.count()).where(_follows.c.user_id == user_id))
    if count >= MAX_FOLLOWS and not is_following(session, user_id, kind, key):
        raise CommunityError(f"you follow {MAX_FOLLOWS} authors and organisations already; unfollow some first")
    session.execute(dialect_insert(session, _follows).values(user_id=user_id, kind=kind, key=key, name=shown,
                                                             created_at=now or utcnow()).on_conflict_do_nothing())
    return True


def is_following(session: Session, user_id: int | None, kind: str, key: str) -> bool:
    """Whether the reader follows ``key`` (an author key or a slug, in any case)."""
    if user_id is None:
        return False
    key = key.lower() if kind == "organization" else key
    return session.scalar(select(_follows.c.id).where(_follows.c.user_id == user_id, _follows.c.kind == kind,
                                                      _follows.c.key == key)) is not None


def following(session: Session, user_id: int) -> list[Followed]:
    """Everything the reader follows, authors first, each kind in the order it was followed."""
    rows = session.execute(select(_follows.c.kind, _follows.c.key, _follows.c.name).where(_follows.c.user_id == user_id)
                           .order_by(_follows.c.kind, _follows.c.created_at, _follows.c.id))
    return [Followed(*row) for row in rows]
