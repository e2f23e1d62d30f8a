"""What is hot now (``/trending``, ``/api/trending``, the trending feed) and what gained votes.

Both answer even when nobody voted lately: trending falls back to the newest week that has
papers and rising to trending, so the page never goes blank on an archive or a quiet week.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.catalog.models import DailyEntry, Paper
from papertide.community.models import Vote
from papertide.feed.daily import latest_daily_date
from papertide.feed.items import FeedItem, item_from_row, items_query, sort_items


@dataclass(frozen=True)
class RisingItem:
    item: FeedItem
    recent_votes: int
    daily_votes: list[int] = field(default_factory=list)  # votes per day over the window, oldest first


def trending(session: Session, now: datetime, *, days: int = 7, limit: int = 30) -> list[FeedItem]:
    """The highest trending scores among papers submitted in the last ``days`` days.

    When nothing was submitted in that window (an archive, a quiet week), the window ends at the
    newest day that has papers instead, so the page never goes blank.
    """
    end = now.date() + timedelta(days=1)
    latest = latest_daily_date(session, on_or_before=now.date())
    if latest is not None and latest < end - timedelta(days=days):
        end = latest + timedelta(days=1)
    query = items_query(on_list=True).where(DailyEntry.daily_date >= end - timedelta(days=days), DailyEntry.daily_date < end)
    return sort_items([item_from_row(row, now) for row in session.execute(query)], "trending")[:limit]


def rising(session: Session, now: datetime, *, days: int = 7, limit: int = 8) -> list[RisingItem]:
    """Papers that gained the most papertide votes over the last ``days`` days, with their
    votes per day (for the "what is rising" chart). Falls back to trending when nobody voted."""
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=now.tzinfo)
    counts = session.execute(
        select(Vote.paper_id, func.count()).where(Vote.created_at >= since, Vote.created_at <= now)
        .group_by(Vote.paper_id).order_by(func.count().desc()).limit(limit * 2)
    ).all()
    if not counts:
        return [RisingItem(item, 0, [0] * days) for item in trending(session, now, limit=limit)]
    rows = {row[0].id: item_from_row(row, now)
            for row in session.execute(items_query().where(Paper.id.in_([c[0] for c in counts])))}
    per_day: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for paper_id, created in session.execute(
        select(Vote.paper_id, Vote.created_at).where(Vote.paper_id.in_(list(rows)), Vote.created_at >= since, Vote.created_at <= now)
    ):
        index = (created.date() - since.date()).days
        if 0 <= index < days:
            per_day[paper_id][index] += 1
    result = [RisingItem(rows[pid], n, per_day[pid]) for pid, n in counts if pid in rows]
    return result[:limit]
