"""Submitting a paper to the daily list by its arXiv id.

A paper already in the catalog is put on today's list; one that is not is fetched first (with
the arXiv client of the ingest package, or any ``fetch(arxiv_id) -> PaperRecord | None`` passed
in) and enters the catalog through the same upsert as every other source. A paper is on the
daily list once: submitting it again says where it already is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from papertide.catalog.arxiv_ids import parse_arxiv_id
from papertide.catalog.paper_ids import is_local_key
from papertide.catalog.models import DailyEntry, Paper
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.catalog import versions
from papertide.community.accounts import require_active
from papertide.community.errors import AlreadyListed, CommunityError, Conflict, NotFound, Unavailable

if TYPE_CHECKING:
    from papertide.config import Settings
    from papertide.db import Database

Fetch = Callable[[str], PaperRecord | None]
MAX_ID_INPUT = 200


@dataclass(frozen=True)
class SubmissionResult:
    arxiv_id: str
    fetched: bool  # the paper was not in the catalog and came from arXiv
    daily_date: date


def default_fetch(database: Database | None = None, settings: Settings | None = None) -> Fetch:
    """The arXiv client's ``fetch_paper`` (imported here: only a submission of an unknown paper
    needs it), paced with every other process of ``database`` when given. With ``settings``, it
    asks their arXiv at their pace and gives up after ``submit_timeout`` seconds: a person waits."""
    from papertide.ingest.arxiv_api import fetch_paper

    if settings is None:
        return partial(fetch_paper, database=database)
    return partial(fetch_paper, api_url=settings.arxiv_api_url, database=database, delay=settings.arxiv_delay,
                   wait=settings.submit_timeout)


def normalise_id(raw: str) -> str:
    """``arXiv:2405.15738v2`` or an abs/pdf URL to ``2405.15738``; ``CommunityError`` if not an id."""
    raw = (raw or "").strip()
    if not raw or len(raw) > MAX_ID_INPUT:
        raise CommunityError("give an arXiv id such as 2405.15738 or its arxiv.org link")
    if is_local_key(raw.lower()):
        raise CommunityError(f"{raw[:60]!r} is a local id: a paper that is not on arXiv cannot be submitted "
                             "to the daily list; give the arXiv id of a paper on arXiv")
    try:
        arxiv_id, _version = parse_arxiv_id(raw)
    except ValueError as error:
        raise CommunityError(f"{raw[:60]!r} is not an arXiv id") from error
    return arxiv_id


def submit(database: Database, user_id: int, arxiv_id: str, fetch: Fetch | None = None, *, now: datetime) -> SubmissionResult:
    """``submit_paper`` as the web runs it: a new paper's arXiv request (seconds, with pacing)
    happens between two short transactions, never inside one. On SQLite a transaction holds the
    file's one write lock from its first write, so every vote and comment would wait for arXiv."""
    arxiv_id = normalise_id(arxiv_id)
    with database.session() as session:
        require_active(session, user_id)
    record = record_if_new(database, arxiv_id, fetch or default_fetch(database))
    with database.session() as session:
        return submit_paper(session, user_id, arxiv_id, now=now, record=record)


def record_if_new(database: Database, arxiv_id: str, fetch: Fetch) -> PaperRecord | None:
    """None when the catalog has ``arxiv_id``; else the paper from arXiv (``fetch_record``'s
    errors), asked outside any transaction, for ``submit_paper(record=...)``."""
    with database.session() as session:
        if session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id)) is not None:
            return None
    return fetch_record(arxiv_id, fetch)


def fetch_record(arxiv_id: str, fetch: Fetch | None = None) -> PaperRecord:
    """The paper from arXiv; ``Unavailable`` if arXiv cannot be asked, ``NotFound`` if it has none."""
    fetch = fetch or default_fetch()
    try:
        record = fetch(arxiv_id)
    except Exception as error:  # network down, arXiv erroring or rate limiting: say so, keep nothing
        raise Unavailable(f"arXiv could not be asked about {arxiv_id} just now; please try again later") from error
    if record is None:
        raise NotFound(f"arXiv has no paper {arxiv_id}")
    return record


def submit_paper(session: Session, user_id: int, arxiv_id: str, fetch: Fetch | None = None, *, now: datetime,
                 record: PaperRecord | None = None) -> SubmissionResult:
    """Put ``arxiv_id`` on the daily list of ``now``'s date, fetching it first if needed.

    Raises ``CommunityError`` for a malformed id, ``NotFound`` when neither the catalog nor arXiv
    knows it, ``Unavailable`` when arXiv cannot be reached, ``Conflict`` when it is already on the
    list (the message says which day).
    """
    require_active(session, user_id)
    arxiv_id = normalise_id(arxiv_id)
    paper = session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))
    fetched = False
    if paper is None:
        record = record or fetch_record(arxiv_id, fetch)
        upsert_papers(session, [record.model_copy(update={"daily": None})])
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == record.arxiv_id))
        fetched = True
    if paper.hidden:
        raise NotFound(f"{arxiv_id} is not available")
    existing = session.scalar(select(DailyEntry.daily_date).where(DailyEntry.paper_id == paper.id))
    if existing is not None:
        raise AlreadyListed(paper.arxiv_id, existing)
    entry = DailyEntry(paper_id=paper.id, daily_date=now.date(), submitted_at=now, submitted_by_user_id=user_id, source="user")
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as error:  # someone submitted it in the same instant; the caller rolls back
        raise Conflict(f"{arxiv_id} was just submitted by someone else") from error
    versions.bump_for_paper(session, paper.id)
    return SubmissionResult(arxiv_id=paper.arxiv_id, fetched=fetched, daily_date=entry.daily_date)
