"""The daily list read by period (``/``, ``/api/daily_papers``, the daily feed), and without one.

A period with no papers still answers, with links to the nearest periods that have some, so a
reader stepping back through weekends never lands on a dead end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from papertide.catalog.models import DailyEntry, Paper
from papertide.community.models import User
from papertide.feed.items import FeedItem, item_from_row, items_query, sort_items, sorted_page
from papertide.feed.params import normalise_sort, page_limit
from papertide.feed.periods import FIRST_DAY, LAST_DAY, PERIOD_OF_KIND, Period, day_period, parse_period


@dataclass(frozen=True)
class FeedPage:
    """A page of the daily list for a period, sorted, with navigation."""

    period: Period | None  # None: nothing on the daily list yet
    sort: str
    items: list[FeedItem]
    page: int
    limit: int
    total: int
    prev: Period | None = None  # the previous period that has papers
    next: Period | None = None  # the next period that has papers (None past the newest)

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.limit < self.total


def latest_daily_date(session: Session, *, on_or_before: date | None = None) -> date | None:
    """The newest day of the served range that has any (visible) paper on the daily list,
    optionally not after a day."""
    last = min(on_or_before, LAST_DAY) if on_or_before is not None else LAST_DAY
    query = (select(func.max(DailyEntry.daily_date)).join(Paper, Paper.id == DailyEntry.paper_id)
             .where(Paper.hidden.is_(False), DailyEntry.daily_date <= last, DailyEntry.daily_date >= FIRST_DAY))
    return session.scalar(query)


def daily_feed(
    session: Session,
    *,
    day: str | date | None = None,
    week: str | None = None,
    month: str | None = None,
    sort: str = "trending",
    now: datetime,
    page: int = 0,
    limit: int = 50,
    submitter: str | None = None,
    strict: bool = False,
) -> FeedPage:
    """The daily list for a day, an ISO week or a month (default: the newest day that has papers,
    on or before ``now``), sorted by ``trending`` / ``upvotes`` / ``newest``, a page at a time.

    ``prev`` / ``next`` are the nearest periods that have papers (for a day: the previous and next
    days with papers, skipping empty weekends). Raises ``InvalidQuery`` for malformed input
    (``strict``: the API's exact shapes, see ``parse_period``).
    """
    sort = normalise_sort(sort)
    page, limit = page_limit(page, limit)
    period = parse_period(day, week, month, strict=strict)
    if period is None:
        latest = latest_daily_date(session, on_or_before=now.date()) or latest_daily_date(session)
        if latest is None:
            return FeedPage(None, sort, [], page, limit, 0)
        period = day_period(latest)
    where = [DailyEntry.daily_date >= period.start, DailyEntry.daily_date < period.end]
    if submitter:
        where.append(or_(User.username == submitter, DailyEntry.submitted_by_name == submitter))
    items, total, _ = sorted_page(session, where, sort, now, page, limit, on_list=True)
    prev, next_ = _neighbours(session, period)
    return FeedPage(period, sort, items, page, limit, total, prev, next_)


def _neighbours(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    """The nearest periods with papers, within the served range (a page there could not be shown)."""
    visible = and_(Paper.id == DailyEntry.paper_id, Paper.hidden.is_(False))
    before = session.scalar(select(func.max(DailyEntry.daily_date)).join(Paper, visible)
                            .where(DailyEntry.daily_date < period.start, DailyEntry.daily_date >= FIRST_DAY))
    after = session.scalar(select(func.min(DailyEntry.daily_date)).join(Paper, visible)
                           .where(DailyEntry.daily_date >= period.end, DailyEntry.daily_date <= LAST_DAY))
    make = PERIOD_OF_KIND[period.kind]
    return (make(before) if before else None), (make(after) if after else None)


def periods_with_papers(session: Session, kind: str) -> list[Period]:
    """Every day, week or month with (visible) papers on the daily list, newest first: what a
    period picker offers, so no choice leads to an empty page."""
    make = PERIOD_OF_KIND[kind]
    days = session.scalars(select(DailyEntry.daily_date).join(Paper, and_(Paper.id == DailyEntry.paper_id, Paper.hidden.is_(False)))
                           .distinct()).all()
    return sorted({make(day) for day in days}, key=lambda period: period.start, reverse=True)


def recent_feed(session: Session, *, sort: str = "newest", now: datetime, page: int = 0, limit: int = 50,
                submitter: str | None = None) -> FeedPage:
    """The newest submissions across days (Hugging Face's ``/api/daily_papers`` without a date):
    page ``p`` walks back in time ``limit`` papers at a time. Sorted within the page."""
    sort = normalise_sort(sort)
    page, limit = page_limit(page, limit)
    hidden = select(Paper.id).where(Paper.hidden.is_(True)).scalar_subquery()  # few, usually none
    entries = select(DailyEntry.paper_id).where(DailyEntry.paper_id.not_in(hidden))
    if submitter:
        entries = entries.outerjoin(User, User.id == DailyEntry.submitted_by_user_id).where(
            or_(User.username == submitter, DailyEntry.submitted_by_name == submitter))
    total = session.scalar(select(func.count()).select_from(entries.subquery()))
    # Page through daily_entries alone, newest first, so the date index drives it and stops after
    # one page (joined to papers, SQLite may prefer to scan every paper and sort); then load the page.
    ids = session.scalars(entries.order_by(DailyEntry.daily_date.desc(), DailyEntry.submitted_at.desc(),
                                           DailyEntry.paper_id.desc()).offset(page * limit).limit(limit)).all()
    rows = {row[0].id: row for row in session.execute(items_query(on_list=True).where(Paper.id.in_(ids)))}
    items = sort_items([item_from_row(rows[i], now) for i in ids if i in rows], sort)
    return FeedPage(None, sort, items, page, limit, total)
