"""Accounts: a session epoch, so that changing the password or "sign out everywhere" ends every
other session.

Revision ID: 0005_account_sessions
Revises: 0004_pg_term_stats
Create Date: 2026-11-24 09:30:00

Sessions are signed cookies with no server-side state, so one cannot be revoked by deleting it.
Instead each session carries the epoch its user had when it began; bumping ``users.session_epoch``
makes every older cookie worthless on its next request (``papertide.web.security.current_user``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_account_sessions"
down_revision = "0004_pg_term_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
