"""A canonical, comparable dump of what ingest stored (timestamps of our own bookkeeping left out)."""

from __future__ import annotations

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, HarvestCheckpoint, Organization, Paper
from papertide.db import Database

PAPER_SKIP = {"id", "organization_id", "created_at", "modified_at"}


def canonical_dump(database: Database) -> dict:
    with database.session() as session:
        orgs = {o.id: (o.slug, o.name) for o in session.scalars(select(Organization))}
        papers = {}
        for paper in session.scalars(select(Paper)):
            row = {c.key: getattr(paper, c.key) for c in Paper.__table__.columns if c.key not in PAPER_SKIP}
            row["organization"] = orgs.get(paper.organization_id)
            papers[paper.arxiv_id] = row
        ids = dict(session.execute(select(Paper.id, Paper.arxiv_id)).all())
        daily = {
            ids[e.paper_id]: (e.daily_date, e.submitted_at, e.submitted_by_name, e.source, e.submitted_by_user_id)
            for e in session.scalars(select(DailyEntry))
        }
        checkpoints = {c.key: c.state for c in session.scalars(select(HarvestCheckpoint))}
    return {"papers": papers, "organizations": sorted(orgs.values()), "daily": daily, "checkpoints": checkpoints}
