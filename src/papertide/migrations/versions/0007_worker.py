"""The worker: sources in the database, each job's schedule and lease, and the runs' history.

Revision ID: 0007_worker
Revises: 0006_source_pacing
Create Date: 2026-12-07 09:00:00

A new installation harvests one source, ``hf-daily``: the Hugging Face daily list of today and
yesterday, every 30 minutes (``papertide.worker``). An admin adds arXiv categories and id lists.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import papertide.orm

revision = "0007_worker"
down_revision = "0006_source_pacing"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    sources = op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("params", JSON_DOCUMENT, nullable=False),
        sa.Column("every_minutes", sa.Integer(), nullable=True),
        sa.Column("daily_at", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("papers_added", sa.Integer(), nullable=False),
        sa.Column("harvested_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("created_at", papertide.orm.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "worker_jobs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("next_run_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_started_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_jobs")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("slot", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("started_at", papertide.orm.UTCDateTime(), nullable=False),
        sa.Column("finished_at", papertide.orm.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job", "job_runs", ["job"])
    from datetime import datetime, timezone

    # The default source (papertide.worker.sources.DEFAULT_SOURCE says the same).
    op.bulk_insert(sources, [{
        "name": "hf-daily", "kind": "hf-daily", "params": {"days": 2}, "every_minutes": 30, "daily_at": None,
        "timezone": "UTC", "papers_added": 0, "created_at": datetime.now(timezone.utc),
    }])


def downgrade() -> None:
    op.drop_index("ix_job_runs_job", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("worker_jobs")
    op.drop_table("sources")
