"""Migration 0008 merges the organisations already stored twice, on both backends: papers move
to the one kept, subscriptions follow it, merged ids still find it, and nothing else changes."""

from datetime import datetime, timezone

from alembic import command
from sqlalchemy import insert, select

from papertide.catalog.models import Organization, Paper
from papertide.catalog.organizations import find_organization
from papertide.db import alembic_config
from papertide.digest.models import Subscription

BEFORE = "0007_worker"
NOW = datetime(2026, 12, 7, tzinfo=timezone.utc)


def migrate(database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_merge_keeps_the_organisation_with_most_papers(database):
    migrate(database, BEFORE, down=True)  # the schema as it was before this revision
    organizations = Organization.__table__
    stored = [("zju", "Zhejiang University"), ("ZhejiangUniversity", "Zhejiang University"),
              ("ZhejiangDun", "Zhejiang university"), ("ustc", "university of science and technology of china"),
              ("ustc-community", "University of Science and Technology of China"), ("acme", "Acme AI")]
    papers_of = {"zju": 1, "ZhejiangUniversity": 3, "ZhejiangDun": 1, "ustc": 2, "ustc-community": 1, "acme": 1}
    with database.engine.begin() as connection:
        connection.execute(insert(organizations), [{"slug": s, "name": n, "created_at": NOW} for s, n in stored])
        ids = dict(connection.execute(select(organizations.c.slug, organizations.c.id)).all())
        owners = [slug for slug, count in papers_of.items() for _ in range(count)]
        rows = [{"arxiv_id": f"2501.{i:05d}", "organization_id": ids[slug]} for i, slug in enumerate(owners)]
        connection.execute(insert(Paper.__table__), [
            {**row, "title": "t", "abstract": "a", "authors": [], "categories": [], "content_hash": "x",
             "imported_upvotes": 0, "imported_comments": 0, "vote_count": 0, "comment_count": 0, "hidden": False,
             "created_at": NOW, "modified_at": NOW} for row in rows])
        connection.execute(insert(Subscription.__table__), [{
            "email": "reader@example.org", "content": "interests", "frequency": "daily", "topics": [], "follow_authors": [],
            "follow_organizations": ["zju", "ZhejiangUniversity", "acme", "unknown"], "created_at": NOW}])

    migrate(database, "head")

    with database.session() as session:
        kept = {org.slug: org.name for org in session.scalars(select(Organization))}
        assert kept == {"ZhejiangUniversity": "Zhejiang University",  # 3 papers beat 1 and 1
                        "ustc": "University of Science and Technology of China",  # 2 beat 1; the capitalised name
                        "acme": "Acme AI"}
        per_org = {}
        for paper in session.scalars(select(Paper)):
            per_org[paper.organization.slug] = per_org.get(paper.organization.slug, 0) + 1
        assert per_org == {"ZhejiangUniversity": 5, "ustc": 3, "acme": 1}  # every paper kept, moved
        assert find_organization(session, "zju").slug == "ZhejiangUniversity"  # old addresses still find it
        assert find_organization(session, "ustc-community").slug == "ustc"
        followed = session.scalars(select(Subscription.follow_organizations)).one()
        assert followed == ["ZhejiangUniversity", "acme", "unknown"]
