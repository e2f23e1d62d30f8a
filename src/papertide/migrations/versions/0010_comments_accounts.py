"""Comments that can be answered, edited and deleted; password resets; moderators' reasons.

Revision ID: 0010_comments_accounts
Revises: 0009_reader
Create Date: 2026-12-08 09:00:00

* ``comments``: ``edited_at`` (shown as "edited"), ``deleted_at`` (the row stays, its body
  emptied, so replies keep their place), ``removed_reason`` (a moderator's, shown in place), and
  an index on ``parent_id`` (a thread is read by its top-level comments' ids).
* ``users.blocked_reason``: what a blocked person is told when they log in.
* ``password_reset_tokens``: single-use, expiring links, stored as SHA-256 digests.
"""

import sqlalchemy as sa
from alembic import op

import papertide.orm

revision = "0010_comments_accounts"
down_revision = "0009_reader"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("removed_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("edited_at", papertide.orm.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", papertide.orm.UTCDateTime(), nullable=True))
        batch.create_index("ix_comments_parent_id", ["parent_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("blocked_reason", sa.String(500), nullable=True))
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", papertide.orm.UTCDateTime(), nullable=False),
        sa.Column("expires_at", papertide.orm.UTCDateTime(), nullable=False),
        sa.Column("used_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_password_reset_tokens_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_password_reset_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_tokens_token_hash"),
    )
    with op.batch_alter_table("password_reset_tokens") as batch:
        batch.create_index("ix_password_reset_tokens_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("password_reset_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("blocked_reason")
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_parent_id")
        batch.drop_column("deleted_at")
        batch.drop_column("edited_at")
        batch.drop_column("removed_reason")
