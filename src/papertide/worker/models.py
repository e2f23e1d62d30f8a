"""Worker tables: the sources an installation harvests, each job's schedule and lease, and runs.

``worker_jobs`` holds one row per job (``source:hf-daily``, ``search-index``, ``digests``, ...):
when it is next due, who holds its lease and until when, and how its last run went. It is the one
place every worker process, on any machine, agrees on through the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from papertide.orm import Base, JSONDocument, UTCDateTime, utcnow


class Source(Base):
    """Where papers come from, and how often: an admin adds and removes these (CLI or /admin/sources)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # hf-daily | arxiv-category | arxiv-ids
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # The schedule: every N minutes, or once a day at HH:MM in ``timezone``.
    every_minutes: Mapped[int | None] = mapped_column(Integer)
    daily_at: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    papers_added: Mapped[int] = mapped_column(Integer, default=0)  # over all its runs
    # When its last harvest completed: the catalog is current as of then (the daily page says so).
    harvested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerJob(Base):
    """One job's schedule, lease and latest outcome.

    A job is due when ``next_run_at`` has passed or someone asked for a run (``requests`` ahead of
    ``served``: counters, so an ask that arrives while the job runs is not lost). It runs only in
    the worker holding its lease (``holder`` until ``lease_expires_at``); a dead holder's lease
    simply expires and the next worker takes the job over.
    """

    __tablename__ = "worker_jobs"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: runs only when asked
    requests: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row; sets the retry backoff
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """One run of a job: the history behind the admin's "last run", and the proof of once per slot."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(200), index=True)
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the scheduled time it ran for; None: asked for
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | ok | failed | interrupted
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
