"""The reader's own: follows, collections, the author index and paper thumbnails.

Revision ID: 0009_reader
Revises: 0008_org_merge
Create Date: 2026-12-07 09:00:00

``paper_authors`` is derived from ``papers.authors`` (``papertide.catalog.authors``): it is filled
here for the papers already in the catalog, and kept by the upsert from then on. On a catalog of
a million papers the fill takes a few minutes, once.
"""

import sqlalchemy as sa
from alembic import op

from papertide.orm import UTCDateTime

revision = "0009_reader"
down_revision = "0008_org_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_authors",
        sa.Column("author_hash", sa.BigInteger(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_authors_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("author_hash", "paper_id", name=op.f("pk_paper_authors")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_paper_authors_paper_id"), "paper_authors", ["paper_id"])
    op.create_table(
        "paper_thumbnails",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("file", sa.String(200), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_thumbnails_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_thumbnails")),
    )
    op.create_index(op.f("ix_paper_thumbnails_status"), "paper_thumbnails", ["status"])
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("user_id", "kind", "key", name=op.f("uq_follows_user_id")),
    )
    op.create_index(op.f("ix_follows_user_id"), "follows", ["user_id"])
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_collections_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("public_id", name=op.f("uq_collections_public_id")),
    )
    op.create_index(op.f("ix_collections_user_id"), "collections", ["user_id"])
    op.create_table(
        "collection_items",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], name=op.f("fk_collection_items_collection_id_collections"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_collection_items_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("collection_id", "paper_id", name=op.f("pk_collection_items")),
    )
    op.create_index(op.f("ix_collection_items_paper_id"), "collection_items", ["paper_id"])

    from papertide.catalog.authors import rebuild_author_index

    rebuild_author_index(op.get_bind())


def downgrade() -> None:
    for table in ("collection_items", "collections", "follows", "paper_thumbnails", "paper_authors"):
        op.drop_table(table)

