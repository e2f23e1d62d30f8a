"""Accounts: server-side sessions and personal API tokens.

Revision ID: 0011_api_tokens
Revises: 0010_comments_accounts
Create Date: 2026-11-25 10:00:00

``account_sessions``: one row per logged-in browser, keyed by the SHA-256 of a random key its
signed cookie carries. Logging out deletes the row, so a copy of the cookie stops working (with
signed cookies alone it worked until it expired). ``api_tokens``: personal tokens for scripts,
stored as their SHA-256, with a scope (read or write).
"""

import sqlalchemy as sa
from alembic import op

from papertide.orm import UTCDateTime

revision = "0011_api_tokens"
down_revision = "0010_comments_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_account_sessions_key_hash")),
    )
    op.create_index(op.f("ix_account_sessions_user_id"), "account_sessions", ["user_id"], unique=False)
    op.create_index(op.f("ix_account_sessions_created_at"), "account_sessions", ["created_at"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_account_sessions_created_at"), table_name="account_sessions")
    op.drop_index(op.f("ix_account_sessions_user_id"), table_name="account_sessions")
    op.drop_table("account_sessions")
