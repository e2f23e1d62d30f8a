"""One paper as its page and the API show it: the item, its BibTeX, and its upvotes over time.

Comments and similar papers are asked of their own services (``community.comments``, search),
so a page that needs only the card does not pay for them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog.paper_ids import normalise_paper_id
from papertide.catalog.bibtex import bibtex
from papertide.catalog.models import DailyEntry, Paper
from papertide.community.models import Vote
from papertide.feed.items import FeedItem, item_from_row, items_query


@dataclass(frozen=True)
class PaperDetail:
    item: FeedItem
    bibtex: str

    @property
    def paper(self) -> Paper:
        return self.item.paper


@dataclass(frozen=True)
class VotePoint:
    day: date
    votes: int  # papertide votes cast that day
    total: int  # cumulative upvotes at the end of that day (imported count included)


def get_paper_item(session: Session, arxiv_id: str, *, now: datetime | None = None, include_hidden: bool = False) -> FeedItem | None:
    """The paper any spelling of its id names (``2405.15738v2``, ``arXiv:...``, an abs URL); None
    if unknown, hidden (unless ``include_hidden``, for moderators) or not an id at all."""
    arxiv_id = normalise_paper_id(arxiv_id)
    if arxiv_id is None:
        return None
    query = items_query(include_hidden=include_hidden)
    row = session.execute(query.where(Paper.arxiv_id == arxiv_id)).first()
    return item_from_row(row, now) if row else None


def get_paper_detail(session: Session, arxiv_id: str, *, now: datetime | None = None, include_hidden: bool = False) -> PaperDetail | None:
    """Everything the paper page shows except comments and similar papers (ask
    ``community.threads.thread`` and ``similar_papers``); None if unknown or hidden."""
    item = get_paper_item(session, arxiv_id, now=now, include_hidden=include_hidden)
    return PaperDetail(item, bibtex(item.paper)) if item else None


def votes_over_time(session: Session, paper_id: int, *, now: datetime | None = None) -> list[VotePoint]:
    """Upvotes per day since the paper went on the list: the imported count is the starting point,
    then each day's papertide votes. Days without votes between points are filled in (cheap to chart)."""
    paper = session.get(Paper, paper_id)
    if paper is None:
        return []
    entry_day = session.scalar(select(DailyEntry.daily_date).where(DailyEntry.paper_id == paper_id))
    per_day: dict[date, int] = defaultdict(int)
    for (created,) in session.execute(select(Vote.created_at).where(Vote.paper_id == paper_id)):
        per_day[created.date()] += 1
    days = sorted(per_day)
    first = min([d for d in (entry_day, days[0] if days else None) if d is not None], default=None)
    if first is None:
        return []
    last = max([first, *days, *([now.date()] if now else [])])
    if (last - first).days > 366:  # a long tail: chart a year at most
        first = last - timedelta(days=366)
    total = paper.imported_upvotes + sum(n for d, n in per_day.items() if d < first)
    points = []
    # Counted by offset, never stepping past ``last``: a paper dated 9999-12-31 must not overflow.
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        total += per_day.get(day, 0)
        points.append(VotePoint(day, per_day.get(day, 0), total))
    return points


def newest_title(session: Session) -> str | None:
    """The title of the newest visible paper (a query that finds something, for warming search up)."""
    return session.scalar(select(Paper.title).where(Paper.hidden.is_(False)).order_by(Paper.id.desc()).limit(1))
