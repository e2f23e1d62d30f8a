"""Collections: a reader's named lists of papers, kept private or shared by link.

Only the owner changes a collection. Reading one takes its address, whose ``public_id`` is 128
random bits: a shared collection is readable by whoever was given the address, and a private
one by its owner alone. Every other reader, signed in or not, is told it does not exist (a
404, never a 403), so an address tells nobody whether a private collection is behind it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from papertide.catalog.paper_ids import normalise_paper_id
from papertide.catalog.models import Paper
from papertide.catalog.record import clean_text
from papertide.community.accounts import require_active
from papertide.community.errors import CommunityError, NotFound
from papertide.community.models import Collection, CollectionItem, User
from papertide.db import dialect_insert
from papertide.orm import utcnow

MAX_NAME = 100
MAX_DESCRIPTION = 1000
MAX_COLLECTIONS = 200  # per reader
MAX_ITEMS = 2000  # per collection: a bibliography, not a catalog

_collections = Collection.__table__
_items = CollectionItem.__table__


@dataclass(frozen=True)
class CollectionView:
    id: int
    public_id: str
    name: str
    description: str
    shared: bool
    owner_id: int
    owner: str  # username
    count: int  # papers in it
    created_at: datetime
    updated_at: datetime

    @property
    def url(self) -> str:
        return f"/collections/{self.public_id}"


def _clean(name: str, description: str) -> tuple[str, str]:
    name = clean_text(name or "")
    description = (description or "").strip()
    if not name:
        raise CommunityError("a collection needs a name")
    if len(name) > MAX_NAME:
        raise CommunityError(f"a collection's name is at most {MAX_NAME} characters")
    if len(description) > MAX_DESCRIPTION:
        raise CommunityError(f"a description is at most {MAX_DESCRIPTION} characters")
    return name, description


def _views_query(*where):
    count = select(func.count()).where(_items.c.collection_id == _collections.c.id).scalar_subquery()
    return (
        select(_collections.c.id, _collections.c.public_id, _collections.c.name, _collections.c.description,
               _collections.c.shared, _collections.c.user_id, User.username, count, _collections.c.created_at,
               _collections.c.updated_at)
        .join(User, User.id == _collections.c.user_id).where(*where)
        .order_by(_collections.c.updated_at.desc(), _collections.c.id.desc())
    )


def _views(session: Session, *where) -> list[CollectionView]:
    return [CollectionView(*row) for row in session.execute(_views_query(*where))]


# Built once: a signed-in reader's paper page asks for its Save menu on every request, and
# building these statements cost more than running them.
_OWNED_BY = _views_query(_collections.c.user_id == bindparam("user_id"))
_HOLDING = (select(_items.c.collection_id).join(_collections, _collections.c.id == _items.c.collection_id)
            .where(_collections.c.user_id == bindparam("user_id"), _items.c.paper_id == bindparam("paper_id")))


def _owned(session: Session, user_id: int, public_id: str) -> CollectionView:
    found = _views(session, _collections.c.public_id == (public_id or "")[:32], _collections.c.user_id == user_id)
    if not found:
        raise NotFound("no such collection")
    return found[0]


def create_collection(session: Session, user_id: int, name: str, description: str = "", *, shared: bool = False,
                      now: datetime | None = None) -> CollectionView:
    require_active(session, user_id)
    name, description = _clean(name, description)
    if session.scalar(select(func.count()).where(_collections.c.user_id == user_id)) >= MAX_COLLECTIONS:
        raise CommunityError(f"you have {MAX_COLLECTIONS} collections already; delete one first")
    now = now or utcnow()
    public_id = secrets.token_urlsafe(16)
    session.execute(_collections.insert().values(public_id=public_id, user_id=user_id, name=name, description=description,
                                                 shared=shared, created_at=now, updated_at=now))
    return _owned(session, user_id, public_id)


def update_collection(session: Session, user_id: int, public_id: str, name: str, description: str, *, shared: bool,
                      now: datetime | None = None) -> CollectionView:
    require_active(session, user_id)
    collection = _owned(session, user_id, public_id)
    name, description = _clean(name, description)
    session.execute(update(_collections).where(_collections.c.id == collection.id)
                    .values(name=name, description=description, shared=shared, updated_at=now or utcnow()))
    return _owned(session, user_id, public_id)


def delete_collection(session: Session, user_id: int, public_id: str) -> None:
    require_active(session, user_id)
    collection = _owned(session, user_id, public_id)
    session.execute(delete(_collections).where(_collections.c.id == collection.id))


def set_item(session: Session, user_id: int, public_id: str, arxiv_id: str, on: bool, *,
             now: datetime | None = None) -> bool:
    """Put a paper in (``on``) or take it out of the reader's collection; idempotent. Returns
    whether the paper is in it afterwards."""
    require_active(session, user_id)
    collection = _owned(session, user_id, public_id)
    key = normalise_paper_id(arxiv_id or "")
    paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == key, Paper.hidden.is_(False))) if key else None
    if paper_id is None:
        raise NotFound(f"no paper {(arxiv_id or '')[:60]!r}")
    now = now or utcnow()
    if on:
        if collection.count >= MAX_ITEMS:
            raise CommunityError(f"a collection holds at most {MAX_ITEMS} papers")
        session.execute(dialect_insert(session, _items).values(collection_id=collection.id, paper_id=paper_id, added_at=now)
                        .on_conflict_do_nothing())
    else:
        session.execute(delete(_items).where(_items.c.collection_id == collection.id, _items.c.paper_id == paper_id))
    session.execute(update(_collections).where(_collections.c.id == collection.id).values(updated_at=now))
    return on


def readable_collection(session: Session, public_id: str, viewer_id: int | None) -> CollectionView | None:
    """The collection at this address if the viewer may read it (shared, or theirs); else None."""
    found = _views(session, _collections.c.public_id == (public_id or "")[:32])
    if not found or not (found[0].shared or found[0].owner_id == viewer_id):
        return None
    return found[0]


def list_collections(session: Session | Connection, user_id: int) -> list[CollectionView]:
    """The reader's collections, the most recently changed first."""
    return [CollectionView(*row) for row in session.execute(_OWNED_BY, {"user_id": user_id})]


def paper_ids(session: Session, collection_id: int) -> list[int]:
    """The collection's papers, the most recently added first."""
    return list(session.scalars(select(_items.c.paper_id).where(_items.c.collection_id == collection_id)
                                .order_by(_items.c.added_at.desc(), _items.c.paper_id.desc())))


def holding(session: Session | Connection, user_id: int, paper_id: int) -> set[int]:
    """Ids of the reader's collections that hold the paper."""
    return set(session.scalars(_HOLDING, {"user_id": user_id, "paper_id": paper_id}))


def menu(session: Session | Connection, user_id: int, paper_id: int) -> list[tuple[CollectionView, bool]]:
    """The reader's collections, each with whether it holds the paper (a "save to" menu)."""
    inside = holding(session, user_id, paper_id)
    return [(collection, collection.id in inside) for collection in list_collections(session, user_id)]
