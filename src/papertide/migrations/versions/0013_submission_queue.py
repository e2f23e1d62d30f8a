"""Submissions waiting for arXiv: queued by the web when arXiv is slow, finished by the worker.

Revision ID: 0013_submission_queue
Revises: 0012_bulk
Create Date: 2026-12-07 15:30:00
"""

import sqlalchemy as sa
from alembic import op

import papertide.orm

revision = "0013_submission_queue"
down_revision = "0012_bulk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queued_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=40), nullable=False),
        sa.Column("requested_at", papertide.orm.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("finished_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("daily_date", sa.Date(), nullable=True),
        sa.Column("seen_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_queued_submissions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queued_submissions")),
        sa.UniqueConstraint("user_id", "arxiv_id", name=op.f("uq_queued_submissions_user_id")),
    )
    op.create_index("ix_queued_submissions_status_next", "queued_submissions", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_queued_submissions_user_id"), "queued_submissions", ["user_id"])


def downgrade() -> None:
    op.drop_table("queued_submissions")
