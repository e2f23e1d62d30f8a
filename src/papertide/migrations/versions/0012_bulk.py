"""Embedding shared between workers: the papers waiting for a vector, and who holds each.

Revision ID: 0012_bulk
Revises: 0011_api_tokens
Create Date: 2026-12-07 12:20:00
"""

import sqlalchemy as sa
from alembic import op

import papertide.orm

revision = "0012_bulk"
down_revision = "0011_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embedding_claims",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_embedding_claims_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "model", name=op.f("pk_embedding_claims")),
    )


def downgrade() -> None:
    op.drop_table("embedding_claims")
