"""What a reader has told papertide about their interests: upvotes, saved papers and follows.

The "For you" feed and the interests digest rank new papers by these. Only the newest
``ANCHORS`` upvotes and saves are read: interests drift, and the ranking's work grows with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog import names
from papertide.catalog.authors import author_key
from papertide.catalog.models import Paper
from papertide.community.follows import following
from papertide.community.models import Collection, CollectionItem, Vote

ANCHORS = 200  # newest upvotes, and newest saves, read per reader


@dataclass(frozen=True)
class Anchor:
    """A paper the reader upvoted or saved: new papers close to it are picked for them."""

    paper_id: int
    arxiv_id: str
    title: str
    kind: str  # upvoted | saved
    collection: str | None = None  # the collection's name, for a saved paper


@dataclass(frozen=True)
class Signals:
    anchors: tuple[Anchor, ...] = ()
    authors: Mapping[str, str] = field(default_factory=dict)  # author key -> name as followed
    organizations: Mapping[str, str] = field(default_factory=dict)  # slug, lower-cased -> name

    @property
    def count(self) -> int:
        """How many things the reader gave: papers (each once) plus follows."""
        return len({a.paper_id for a in self.anchors}) + len(self.authors) + len(self.organizations)

    def with_follows(self, authors: Iterable[str] = (), organizations: Mapping[str, str] | Iterable[str] = ()) -> "Signals":
        """These signals plus more follows: author names, organisation slugs (or slug -> name)."""
        names = dict(self.authors)
        for name in authors:
            if key := author_key(name):
                names.setdefault(key, name)
        slugs = dict(self.organizations)
        pairs = organizations.items() if isinstance(organizations, Mapping) else ((s, s) for s in organizations)
        for slug, name in pairs:
            slugs.setdefault(slug.lower(), name)
        return replace(self, authors=names, organizations=slugs)


def reader_signals(session: Session, user_id: int) -> Signals:
    """The reader's newest upvotes and saved papers (visible ones), and everything they follow."""
    upvoted = session.execute(
        select(Paper.id, Paper.arxiv_id, Paper.title).join(Vote, Vote.paper_id == Paper.id)
        .where(Vote.user_id == user_id, Paper.hidden.is_(False)).order_by(Vote.created_at.desc(), Vote.id.desc()).limit(ANCHORS)
    ).all()
    saved = session.execute(
        select(Paper.id, Paper.arxiv_id, Paper.title, Collection.name)
        .join(CollectionItem, CollectionItem.paper_id == Paper.id).join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id, Paper.hidden.is_(False))
        .order_by(CollectionItem.added_at.desc(), Paper.id.desc()).limit(ANCHORS)
    ).all()
    anchors = [Anchor(i, a, t, "upvoted") for i, a, t in upvoted] + [Anchor(i, a, t, "saved", c) for i, a, t, c in saved]
    followed = following(session, user_id)
    return Signals(
        anchors=tuple(anchors),
        authors={f.key: f.name for f in followed if f.kind == "author"},
        organizations={f.key: f.name for f in followed if f.kind == "organization"},
    )


def organization_names(session: Session, slugs: Iterable[str]) -> dict[str, str]:
    """slug -> name, for follows known only by slug (a digest's preferences)."""
    slugs = [s.lower() for s in slugs]
    found = names.organization_names(session, slugs)
    return {slug: found.get(slug, slug) for slug in slugs}
