"""What the pipeline has done, for people: ``sources list``, the admin Sources page, ``stats``, and
the daily page's "updated" line. Reads only."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper
from papertide.db import Database
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker import sources
from papertide.worker.models import JobRun, Source, WorkerJob


@dataclass
class JobStatus:
    """A job as the admin sees it (a source's job carries the source's own figures too)."""

    name: str  # the source's name, or the job's
    job: str
    what: str
    schedule: str
    next_run_at: datetime | None
    running_since: datetime | None  # a live lease
    asked: bool  # someone asked for a run that has not happened yet
    last_run_at: datetime | None
    last_status: str | None
    last_summary: str | None
    last_added: int
    papers_added: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(self).items()}


def describe(source: Source) -> str:
    params = source.params
    if source.kind == "hf-daily":
        days = int(params.get("days", 2))
        return "Hugging Face daily papers, today" + (f" and the {days - 1} days before" if days > 2 else " and yesterday" if days == 2 else "")
    if source.kind == "arxiv-category":
        via = "the arXiv API" if params.get("via") == "api" else f"OAI-PMH set {params.get('set')}"
        return f"arXiv {params['category']} via {via}, first run {params.get('backfill_days', 1)} days back"
    if source.kind == "arxiv-ids":
        return f"{len(params.get('ids', []))} arXiv ids"
    return source.kind


def source_statuses(database: Database, now: datetime) -> list[JobStatus]:
    listed = sources.listing(database)
    with database.session() as session:
        return [_status(session, s.name, sources.job_name(s.name), describe(s), sources.schedule_of(s).describe(), now,
                        s.papers_added) for s in listed]


def job_statuses(database: Database, now: datetime, names: list[tuple[str, str, str]]) -> list[JobStatus]:
    """The status of each (job name, what it does, its schedule in words)."""
    with database.session() as session:
        return [_status(session, name, name, what, schedule, now, 0) for name, what, schedule in names]


def _status(session: Session, name: str, job: str, what: str, schedule: str, now: datetime, papers_added: int) -> JobStatus:
    state = session.get(WorkerJob, job)
    last = session.scalars(select(JobRun).where(JobRun.job == job, JobRun.status != "running")
                           .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
    live = state is not None and state.holder is not None and state.lease_expires_at is not None and state.lease_expires_at > now
    return JobStatus(
        name=name, job=job, what=what, schedule=schedule,
        next_run_at=state.next_run_at if state else now,  # never claimed yet: the next pass runs it
        running_since=state.last_started_at if live else None,
        asked=bool(state and state.requests > state.served),
        last_run_at=last.finished_at if last else None,
        last_status=last.status if last else None,
        last_summary=last.summary if last else None,
        last_added=last.added if last else 0,
        papers_added=papers_added,
        last_success_at=state.last_success_at if state else None,
        last_error=state.last_error if state else None,
        last_error_at=state.last_error_at if state else None,
    )


def catalog_updated_at(session: Session) -> datetime | None:
    """When the catalog was last brought up to date: the latest completed harvest of any source,
    or, in an installation fed by hand (``papertide ingest``), the latest change to a paper."""
    harvested = session.scalar(select(func.max(Source.harvested_at)))
    return harvested or session.scalar(select(func.max(Paper.modified_at)))


def pipeline_figures(session: Session) -> dict[str, Any]:
    """For ``papertide stats``: papers with a vector, and each source's last successful harvest."""
    harvested = session.execute(select(Source.name, Source.harvested_at).order_by(Source.id)).all()
    return {
        "embedded": session.scalar(select(func.count()).select_from(PaperEmbedding)),
        "sources": {name: when.isoformat() if when else None for name, when in harvested},
    }
