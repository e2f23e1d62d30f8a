"""Submissions that wait for arXiv.

A reader's submission of a paper papertide does not have asks arXiv at once, briefly
(``submit_timeout``). When arXiv does not answer in time it is not lost: ``submit_or_queue`` keeps
it in ``queued_submissions`` and the worker's ``submissions`` job (``finish_due``) asks again, with
backoff and at arXiv's pace, until arXiv answers: then it goes on the daily list through the same
``submit_paper`` as any submission, and the row is marked done in the same transaction, so a
crash at any point leaves it either queued (asked again later) or done, never half of each.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.community.accounts import require_active
from papertide.community.errors import AlreadyListed, CommunityError, Conflict, NotFound, Unavailable
from papertide.community.models import QueuedSubmission
from papertide.community.submissions import Fetch, SubmissionResult, normalise_id, record_if_new, submit, submit_paper
from papertide.db import dialect_insert

if TYPE_CHECKING:
    from papertide.db import Database

MAX_ATTEMPTS = 30  # with the backoff below, about a day of asking
MAX_BACKOFF = timedelta(hours=1)
SHOWN = 20  # a reader's latest queued submissions on the submit page
table = QueuedSubmission.__table__


@dataclass(frozen=True)
class Queued:
    """A submission waiting for arXiv."""

    id: int
    arxiv_id: str


@dataclass(frozen=True)
class QueuedView:
    """One of a reader's queued submissions, as the submit page lists it."""

    arxiv_id: str
    status: str
    requested_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    finished_at: datetime | None
    daily_date: date | None


@dataclass
class Progress:
    """What a pass of the worker did."""

    done: int = 0
    failed: int = 0
    waiting: int = 0  # asked and still unanswered: tried again later

    def line(self) -> str:
        if not (self.done or self.failed or self.waiting):
            return "nothing due"
        return f"{self.done} added, {self.failed} failed, {self.waiting} still waiting for arXiv"


def backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th unanswered request a submission is asked about again:
    1, 2, 4 ... minutes, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def submit_or_queue(database: Database, user_id: int, raw_id: str, fetch: Fetch | None = None, *,
                    now: datetime) -> SubmissionResult | Queued:
    """``submissions.submit``; when arXiv cannot be asked in time, the submission queued instead."""
    arxiv_id = normalise_id(raw_id)
    try:
        return submit(database, user_id, arxiv_id, fetch, now=now)
    except Unavailable as slow:
        return enqueue(database, user_id, arxiv_id, now=now, error=str(slow.__cause__ or slow))


def enqueue(database: Database, user_id: int, arxiv_id: str, *, now: datetime, error: str = "") -> Queued:
    """Queue ``arxiv_id`` for ``user_id`` after one unanswered request. One row per reader and
    paper (the unique constraint holds under concurrent requests): one already waiting stays as
    it is; a finished one is queued again."""
    with database.session() as session:
        require_active(session, user_id)
        waiting = dict(status="queued", attempts=1, last_error=error[:500] or None, next_attempt_at=now + backoff(1),
                       finished_at=None, daily_date=None, seen_at=None)
        session.execute(dialect_insert(session, table).values(user_id=user_id, arxiv_id=arxiv_id, requested_at=now, **waiting)
                        .on_conflict_do_nothing(index_elements=["user_id", "arxiv_id"]))
        row = session.execute(select(table.c.id, table.c.status)
                              .where(table.c.user_id == user_id, table.c.arxiv_id == arxiv_id)).one()
        if row.status != "queued":
            session.execute(update(table).where(table.c.id == row.id).values(requested_at=now, **waiting))
        return Queued(row.id, arxiv_id)


def listing(database: Database, user_id: int, *, now: datetime) -> tuple[list[QueuedView], list[QueuedView]]:
    """(``user_id``'s latest queued submissions, newest first; those that finished since the
    reader last looked, now marked seen)."""
    with database.session() as session:
        rows = session.scalars(select(QueuedSubmission).where(QueuedSubmission.user_id == user_id)
                               .order_by(QueuedSubmission.requested_at.desc(), QueuedSubmission.id.desc()).limit(SHOWN)).all()
        views = [_view(row) for row in rows]
        news = [view for row, view in zip(rows, views) if row.status != "queued" and row.seen_at is None]
        if news:
            session.execute(update(table).where(table.c.user_id == user_id, table.c.status != "queued",
                                                table.c.seen_at.is_(None)).values(seen_at=now))
    return views, news


def _view(row: QueuedSubmission) -> QueuedView:
    return QueuedView(row.arxiv_id, row.status, row.requested_at, row.attempts, row.last_error, row.next_attempt_at,
                      row.finished_at, row.daily_date)


def finish_due(database: Database, fetch: Fetch, *, now: datetime, limit: int = 50,
               stop: threading.Event | None = None) -> Progress:
    """Ask arXiv again about the queued submissions that are due, oldest turn first. When arXiv
    still does not answer, the rest wait for the next pass: no point asking it again at once."""
    progress = Progress()
    with database.session() as session:
        due = session.execute(select(table.c.id, table.c.user_id, table.c.arxiv_id, table.c.attempts)
                              .where(table.c.status == "queued", table.c.next_attempt_at <= now)
                              .order_by(table.c.next_attempt_at, table.c.id).limit(limit)).all()
    for row in due:
        if stop is not None and stop.is_set():
            break
        if not _finish(database, row, fetch, now, progress):
            break
    return progress


def _finish(database: Database, row, fetch: Fetch, now: datetime, progress: Progress) -> bool:
    """One queued submission: on the list (done), refused (failed), or still waiting. False when
    arXiv did not answer."""
    try:
        record = record_if_new(database, row.arxiv_id, fetch)
    except Unavailable as slow:
        attempts = row.attempts + 1
        given_up = attempts >= MAX_ATTEMPTS
        _end(database, row.id, now, attempts=attempts, last_error=str(slow.__cause__ or slow)[:500],
             **(dict(status="failed", finished_at=now, next_attempt_at=None) if given_up else
                dict(next_attempt_at=now + backoff(attempts))))
        progress.failed += given_up
        progress.waiting += not given_up
        return False
    except NotFound as missing:  # arXiv answered: there is no such paper
        _fail(database, row, now, str(missing), progress)
        return True
    try:
        with database.session() as session:  # the daily entry and "done" commit together, or neither does
            result = submit_paper(session, row.user_id, row.arxiv_id, now=now, record=record)
            _mark_done(session, row.id, now, result.daily_date, row.attempts + (record is not None))
        progress.done += 1
    except AlreadyListed as listed:  # someone put it on the list meanwhile: that is where it is
        with database.session() as session:
            _mark_done(session, row.id, now, listed.daily_date, row.attempts + (record is not None))
        progress.done += 1
    except Conflict:  # submitted by someone else this very instant: the next pass finds it listed
        progress.waiting += 1
    except CommunityError as refused:  # the paper was hidden, or the reader blocked, meanwhile
        _fail(database, row, now, str(refused), progress)
    return True


def _mark_done(session: Session, row_id: int, now: datetime, daily_date: date, attempts: int) -> None:
    session.execute(update(table).where(table.c.id == row_id, table.c.status == "queued").values(
        status="done", daily_date=daily_date, finished_at=now, next_attempt_at=None, attempts=attempts))


def _fail(database: Database, row, now: datetime, reason: str, progress: Progress) -> None:
    _end(database, row.id, now, status="failed", attempts=row.attempts + 1, last_error=reason[:500], finished_at=now,
         next_attempt_at=None)
    progress.failed += 1


def _end(database: Database, row_id: int, now: datetime, **values) -> None:
    with database.session() as session:
        session.execute(update(table).where(table.c.id == row_id, table.c.status == "queued").values(**values))


def next_due_at(database: Database) -> datetime | None:
    """When the next queued submission is due (None: none waits)."""
    with database.session() as session:
        return session.scalar(select(table.c.next_attempt_at).where(table.c.status == "queued")
                              .order_by(table.c.next_attempt_at).limit(1))
