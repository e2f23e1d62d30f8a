"""Organisations: the keys they are recognised by, and one merge of the duplicates already stored.

Revision ID: 0008_org_merge
Revises: 0007_worker
Create Date: 2026-12-07 06:00:00

Hugging Face lists one university under several ids ("zju", "ZhejiangUniversity", ...), so the
directory showed "Zhejiang University" twice or more. From now on ingest recognises an
organisation by any id a source gave it and by its normalised name (``organization_aliases``,
``catalog.organization_keys``). This revision records those keys for the organisations stored
and merges those that share one: the organisation with the most papers stays (the older on a
tie), the others' papers move to it, digest subscriptions that follow a merged id follow the one
kept, and the merged ids stay as keys, so their old addresses still find it.

The merge is not undone by a downgrade, which only drops the keys.
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from papertide.catalog.organization_keys import better_name, id_key, keys

revision = "0008_org_merge"
down_revision = "0007_worker"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
organizations = sa.table("organizations", sa.column("id", sa.Integer), sa.column("slug", sa.String), sa.column("name", sa.String))
papers = sa.table("papers", sa.column("id", sa.Integer), sa.column("organization_id", sa.Integer))
aliases = sa.table("organization_aliases", sa.column("key", sa.String), sa.column("organization_id", sa.Integer))
subscriptions = sa.table("subscriptions", sa.column("id", sa.Integer), sa.column("follow_organizations", JSON_DOCUMENT))
versions = sa.table("content_versions", sa.column("key", sa.String), sa.column("version", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "organization_aliases",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE",
                                name=op.f("fk_organization_aliases_organization_id_organizations")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organization_aliases")),
    )
    op.create_index(op.f("ix_organization_aliases_organization_id"), "organization_aliases", ["organization_id"])
    bind = op.get_bind()
    count = sa.func.count(papers.c.id).label("papers")
    stored = bind.execute(
        sa.select(organizations.c.id, organizations.c.slug, organizations.c.name, count)
        .select_from(organizations.outerjoin(papers, papers.c.organization_id == organizations.c.id))
        .group_by(organizations.c.id, organizations.c.slug, organizations.c.name)
    ).all()
    renamed: dict[str, str] = {}  # id key of a merged slug -> the slug kept
    for group in _groups(stored):
        kept = max(group, key=lambda org: (org.papers, -org.id))
        merged = [org.id for org in group if org.id != kept.id]
        if merged:
            bind.execute(papers.update().where(papers.c.organization_id.in_(merged)).values(organization_id=kept.id))
            bind.execute(organizations.delete().where(organizations.c.id.in_(merged)))
            renamed.update({id_key(org.slug): kept.slug for org in group if org.id != kept.id})
        name = kept.name
        for org in group:
            name = better_name(name, org.name)
        if name != kept.name:
            bind.execute(organizations.update().where(organizations.c.id == kept.id).values(name=name))
        group_keys = dict.fromkeys(key for org in group for key in keys(org.slug, org.name))
        if group_keys:
            bind.execute(aliases.insert(), [{"key": key, "organization_id": kept.id} for key in group_keys])
    if renamed:
        _follow_the_kept(bind, renamed)
        bind.execute(versions.update().where(versions.c.key == "catalog").values(version=versions.c.version + 1))


def _groups(stored) -> list[list]:
    """Organisations that share a key, transitively (a union-find over their keys)."""
    parent = {org.id: org.id for org in stored}

    def root(org_id: int) -> int:
        while parent[org_id] != org_id:
            parent[org_id] = parent[parent[org_id]]
            org_id = parent[org_id]
        return org_id

    owner: dict[str, int] = {}
    for org in stored:
        for key in keys(org.slug, org.name):
            if key in owner:
                parent[root(org.id)] = root(owner[key])
            else:
                owner[key] = org.id
    groups = defaultdict(list)
    for org in stored:
        groups[root(org.id)].append(org)
    return list(groups.values())


def _follow_the_kept(bind, renamed: dict[str, str]) -> None:
    """Digest subscriptions name organisations by slug: a merged slug becomes the one kept."""
    for row in bind.execute(sa.select(subscriptions.c.id, subscriptions.c.follow_organizations)).all():
        followed = list(row.follow_organizations or [])
        updated = list(dict.fromkeys(renamed.get(id_key(slug), slug) for slug in followed))
        if updated != followed:
            bind.execute(subscriptions.update().where(subscriptions.c.id == row.id).values(follow_organizations=updated))


def downgrade() -> None:
    op.drop_index(op.f("ix_organization_aliases_organization_id"), table_name="organization_aliases")
    op.drop_table("organization_aliases")
