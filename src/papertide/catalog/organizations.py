"""The organisations papers are attributed to, as the menus and the ``/orgs`` page list them.

Counting needs only the catalog (papers and their visibility), so it lives here rather than
in the feed read model, which joins votes and people.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import Organization, OrganizationAlias, Paper
from papertide.catalog.organization_keys import id_key


def list_organizations(session: Session, *, limit: int = 200) -> list[tuple[Organization, int]]:
    """Organisations with their number of visible papers, most papers first."""
    count = func.count(Paper.id)
    rows = session.execute(
        select(Organization, count).join(Paper, and_(Paper.organization_id == Organization.id, Paper.hidden.is_(False)))
        .group_by(Organization.id).order_by(count.desc(), Organization.name).limit(limit)
    )
    return [(org, n) for org, n in rows]


def find_organization(session: Session, slug: str) -> Organization | None:
    """The organisation ``slug`` names: its own slug, or an id merged into it (in any case), so
    the address of an organisation merged away still finds the one kept."""
    slug = (slug or "").strip()[:100]
    if not slug:
        return None
    found = session.scalar(select(Organization).where(Organization.slug == slug))
    if found is None:
        found = session.scalar(select(Organization).join(OrganizationAlias, OrganizationAlias.organization_id == Organization.id)
                               .where(OrganizationAlias.key == id_key(slug)))
    return found
