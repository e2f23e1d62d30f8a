"""Pacing shared by every process: when the next request to each host may go out.

Revision ID: 0006_source_pacing
Revises: 0005_account_sessions
Create Date: 2026-11-24 09:50:00

arXiv asks for 3 seconds between calls from one client. A harvest, several web workers handling
"submit a paper" and a cron job are one client to arXiv, so they reserve their turns in this
table (``papertide.ingest.pacing``) instead of each pacing only itself.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_source_pacing"
down_revision = "0005_account_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_pacing",
        sa.Column("host", sa.String(200), primary_key=True),
        sa.Column("next_request_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_pacing")
