"""What is hot now (``/trending``, ``/api/trending``, the trending feed) and what gained votes.

Both answer even when nothing happened lately, and say so: trending falls back to the newest
days that have papers, and ``trending_window`` tells which days a list covers, so a page can
name them instead of calling August "this week".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import DailyEntry, Paper
from papertide.community.models import Vote
from papertide.feed.daily import latest_daily_date
from papertide.feed.items import FeedItem, item_from_row, items_query, sort_items


@dataclass(frozen=True)
class Window:
    """The days a list covers, ``first`` to ``last`` inclusive. ``current``: they end today;
    otherwise nothing was submitted in the last days, and they are the newest days with papers."""

    first: date
    last: date
    current: bool

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class RisingItem:
    item: FeedItem
    recent_votes: int
    daily_votes: list[int] = field(default_factory=list)  # votes per day over the window, oldest first


def recent_days(now: datetime, days: int) -> Window:
    """The last ``days`` days, today included."""
    return Window(now.date() - timedelta(days=days - 1), now.date(), True)


def trending_window(session: Session, now: datetime, *, days: int = 7) -> Window:
    """The days trending reads: the last ``days`` days, or, when nothing was submitted in them
    (an archive, a quiet week), the ``days`` days ending at the newest day that has papers."""
    window = recent_days(now, days)
    latest = latest_daily_date(session, on_or_before=now.date())
    if latest is not None and latest < window.first:
        return Window(latest - timedelta(days=days - 1), latest, False)
    return window


def trending(session: Session, now: datetime, *, days: int = 7, limit: int = 30,
             window: Window | None = None) -> list[FeedItem]:
    """The highest trending scores among papers submitted in ``window`` (default:
    ``trending_window``), so the page never goes blank."""
    window = window or trending_window(session, now, days=days)
    query = items_query(on_list=True).where(DailyEntry.daily_date >= window.first, DailyEntry.daily_date <= window.last)
    return sort_items([item_from_row(row, now) for row in session.execute(query)], "trending")[:limit]


def rising(session: Session, now: datetime, *, days: int = 7, limit: int = 8) -> list[RisingItem]:
    """Papers that gained the most papertide votes over the last ``days`` days (more upvotes in
    all first on a tie), with their votes per day. Empty when nobody voted in those days: the
    caller says so rather than passing other papers off as rising."""
    since = datetime.combine(recent_days(now, days).first, datetime.min.time(), tzinfo=now.tzinfo)
    counts = dict(session.execute(
        select(Vote.paper_id, func.count()).where(Vote.created_at >= since, Vote.created_at <= now)
        .group_by(Vote.paper_id).order_by(func.count().desc()).limit(limit * 2)
    ).all())
    if not counts:
        return []
    rows = {row[0].id: item_from_row(row, now) for row in session.execute(items_query().where(Paper.id.in_(list(counts))))}
    per_day: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for paper_id, created in session.execute(
        select(Vote.paper_id, Vote.created_at).where(Vote.paper_id.in_(list(rows)), Vote.created_at >= since, Vote.created_at <= now)
    ):
        index = (created.date() - since.date()).days
        if 0 <= index < days:
            per_day[paper_id][index] += 1
    result = [RisingItem(item, counts[paper_id], per_day[paper_id]) for paper_id, item in rows.items()]
    result.sort(key=lambda r: (r.recent_votes, r.item.upvotes, r.item.paper.id), reverse=True)
    return result[:limit]
