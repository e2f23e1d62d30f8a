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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from papertide.catalog.arxiv_ids import parse_arxiv_id
from papertide.catalog.models import DailyEntry, Paper
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.catalog import versions
from papertide.community.accounts import require_active
from papertide.community.errors import CommunityError, Conflict, NotFound, Unavailable

Fetch = Callable[[str], PaperRecord | None]
MAX_ID_INPUT = 200


@dataclass(frozen=True)
class SubmissionResult:
    arxiv_id: str
    fetched: bool  # the paper was not in the catalog and came from arXiv
    daily_date: date


def default_fetch() -> Fetch:
    """The arXiv client's ``fetch_paper`` (imported here: only a submission of an unknown paper needs it)."""
    from papertide.ingest.arxiv_api import fetch_paper

    return fetch_paper


def normalise_id(raw: str) -> str:
    """``arXiv:2405.15738v2`` or an abs/pdf URL to ``2405.15738``; ``CommunityError`` if not an id."""
    raw = (raw or "").strip()
    if not raw or len(raw) > MAX_ID_INPUT:
        raise CommunityError("give an arXiv id such as 2405.15738 or its arxiv.org link")
    try:
        arxiv_id, _version = parse_arxiv_id(raw)
    except ValueError as error:
        raise CommunityError(f"{raw[:60]!r} is not an arXiv id") from error
    return arxiv_id


def submit_paper(session: Session, user_id: int, arxiv_id: str, fetch: Fetch | None = None, *, now: datetime) -> SubmissionResult:
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
        fetch = fetch or default_fetch()
        try:
            record = fetch(arxiv_id)
        except Exception as error:  # network down, arXiv erroring or rate limiting: say so, keep nothing
            raise Unavailable(f"arXiv could not be asked about {arxiv_id} just now; please try again later") from error
        if record is None:
            raise NotFound(f"arXiv has no paper {arxiv_id}" if fetch else f"{arxiv_id} is not in the catalog")
        upsert_papers(session, [record.model_copy(update={"daily": None})])
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == record.arxiv_id))
        fetched = True
    if paper.hidden:
        raise NotFound(f"{arxiv_id} is not available")
    existing = session.scalar(select(DailyEntry.daily_date).where(DailyEntry.paper_id == paper.id))
    if existing is not None:
        raise Conflict(f"{arxiv_id} is already on the daily list of {existing.isoformat()}")
    entry = DailyEntry(paper_id=paper.id, daily_date=now.date(), submitted_at=now, submitted_by_user_id=user_id, source="user")
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as error:  # someone submitted it in the same instant; the caller rolls back
        raise Conflict(f"{arxiv_id} was just submitted by someone else") from error
    versions.bump_for_paper(session, paper.id)
    return SubmissionResult(arxiv_id=paper.arxiv_id, fetched=fetched, daily_date=entry.daily_date)
