"""An author's page (``/authors/{name}``): their papers, the people they write with, their labs.

A name in any spelling finds the author (``catalog.authors.author_key``); the page is named by
the spelling their papers use most, which is also its one canonical address.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog.authors import author_key, paper_ids_by
from papertide.catalog.models import Organization, Paper
from papertide.feed.items import FeedItem, sorted_page
from papertide.feed.params import normalise_sort, page_limit

CO_AUTHORS = 12
ORGANIZATIONS = 6


@dataclass(frozen=True)
class AuthorPage:
    name: str  # the spelling their papers use most
    key: str  # ``author_key(name)``: what a follow stores
    items: list[FeedItem]
    total: int
    total_upvotes: int
    page: int
    limit: int
    co_authors: list[tuple[str, int]]  # (name, papers together), most frequent first
    organizations: list[tuple[Organization, int]]

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.limit < self.total


def author_page(session: Session, name: str, *, sort: str = "newest", now: datetime, page: int = 0,
                limit: int = 30) -> AuthorPage | None:
    """The author that ``name`` designates, in any spelling, with a page of their visible papers;
    None when no visible paper carries the name."""
    sort = normalise_sort(sort)
    page, limit = page_limit(page, limit)
    key = author_key(name)
    candidates = paper_ids_by(session, key)
    if not candidates:
        return None
    rows = session.execute(select(Paper.id, Paper.authors, Paper.organization_id)
                           .where(Paper.id.in_(candidates), Paper.hidden.is_(False))).all()
    spellings: Counter[str] = Counter()
    co_authors: Counter[str] = Counter()
    organization_ids: Counter[int] = Counter()
    ids = []
    for paper_id, authors, organization_id in rows:
        own = [a for a in authors or () if author_key(a) == key]
        if not own:  # another name with the same hash
            continue
        ids.append(paper_id)
        spellings.update(own[:1])
        co_authors.update({a for a in authors if author_key(a) != key})
        if organization_id is not None:
            organization_ids[organization_id] += 1
    if not ids:
        return None
    items, total, upvotes = sorted_page(session, [Paper.id.in_(ids)], sort, now, page, limit, on_list=False)
    organizations = {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(list(organization_ids))))}
    return AuthorPage(
        name=spellings.most_common(1)[0][0], key=key, items=items, total=total, total_upvotes=upvotes, page=page,
        limit=limit, co_authors=sorted(co_authors.items(), key=lambda pair: (-pair[1], pair[0]))[:CO_AUTHORS],
        organizations=[(organizations[i], n) for i, n in organization_ids.most_common(ORGANIZATIONS) if i in organizations],
    )
