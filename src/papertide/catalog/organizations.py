"""The organisations papers are attributed to, as the menus and the ``/orgs`` page list them.

Counting needs only the catalog (papers and their visibility), so it lives here rather than
in the feed read model, which joins votes and people.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import Organization, Paper


def list_organizations(session: Session, *, limit: int = 200) -> list[tuple[Organization, int]]:
    """Organisations with their number of visible papers, most papers first."""
    count = func.count(Paper.id)
    rows = session.execute(
        select(Organization, count).join(Paper, and_(Paper.organization_id == Organization.id, Paper.hidden.is_(False)))
        .group_by(Organization.id).order_by(count.desc(), Organization.name).limit(limit)
    )
    return [(org, n) for org, n in rows]
