"""An organisation's page (``/orgs/{slug}``, its API list and feed): its papers, on the list or not.

The list of organisations itself needs no community and lives in ``catalog.organizations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from papertide.catalog.models import Organization, Paper
from papertide.catalog.organizations import find_organization
from papertide.feed.items import FeedItem, sorted_page
from papertide.feed.params import normalise_sort, page_limit


@dataclass(frozen=True)
class OrganizationPage:
    organization: Organization
    items: list[FeedItem]
    total: int
    total_upvotes: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.limit < self.total


def organization_page(session: Session, slug: str, *, sort: str = "newest", now: datetime, page: int = 0,
                      limit: int = 50) -> OrganizationPage | None:
    """An organisation and its papers (on the daily list or not); None if unknown. A slug merged
    into another organisation gives that one (its ``slug`` then differs from the one asked for)."""
    sort = normalise_sort(sort)
    page, limit = page_limit(page, limit)
    organization = find_organization(session, slug)
    if organization is None:
        return None
    items, total, upvotes = sorted_page(session, [Paper.organization_id == organization.id], sort, now, page, limit,
                                        on_list=False)
    return OrganizationPage(organization, items, total, upvotes, page, limit)
