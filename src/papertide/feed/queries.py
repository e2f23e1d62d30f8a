"""Read models: the questions pages, the JSON API and feeds ask of the catalog.

Each function takes a session and returns plain, detached values (ORM rows with what they need
already loaded, inside small dataclasses), so results can be cached across requests. Anything
that depends on time takes ``now`` explicitly. Hidden papers never appear here, except in
``get_paper_detail(..., include_hidden=True)`` for moderators.

Caching: ``content_version(session)`` is a number that changes whenever a vote, comment,
submission or moderation action changes what these functions return (``paper_version`` for one
paper). Key caches on it; it is one indexed read and is shared by every worker.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from papertide import ranking
from papertide.catalog.arxiv_ids import normalise_arxiv_id
from papertide.catalog.bibtex import bibtex
from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.catalog import versions
from papertide.catalog.organizations import list_organizations
from papertide.community.models import User, Vote

Sort = Literal["trending", "upvotes", "newest"]
SORTS: tuple[str, ...] = ("trending", "upvotes", "newest")
# Names other clients use for the same sorts (Hugging Face's API says "publishedAt").
SORT_ALIASES = {"publishedAt": "newest", "published": "newest", "new": "newest", "most_upvoted": "upvotes",
                "votes": "upvotes", "top": "upvotes", "hot": "trending"}
MAX_LIMIT = 100
log = logging.getLogger(__name__)
MAX_QUERY = 500


class InvalidQuery(ValueError):
    """A malformed period, sort or page; the message says what is expected."""


# ---------------------------------------------------------------------------------------------
# Shapes


@dataclass(frozen=True)
class Period:
    """A day, an ISO week or a month of the daily list: ``[start, end)``."""

    kind: Literal["day", "week", "month"]
    start: date
    end: date  # exclusive
    key: str  # "2025-08-20", "2025-W34", "2025-08": the value of the query parameter
    label: str  # "Wed 20 Aug 2025", "Week 34, 2025", "August 2025"

    @property
    def param(self) -> str:
        """The query parameter that selects this period: date, week or month."""
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def query(self) -> dict[str, str]:
        return {self.param: self.key}

    def shifted(self, steps: int) -> "Period":
        """The period ``steps`` days / weeks / months away."""
        if self.kind == "day":
            return day_period(self.start + timedelta(days=steps))
        if self.kind == "week":
            return week_period(self.start + timedelta(weeks=steps))
        month_index = self.start.year * 12 + self.start.month - 1 + steps
        return month_period(date(month_index // 12, month_index % 12 + 1, 1))


@dataclass(frozen=True)
class FeedItem:
    """One paper in a list, with everything a card, an API item or a feed entry shows.

    ``paper`` is a detached ORM row (``paper.title``, ``.abstract``, ``.authors``, ``.arxiv_id``,
    ``.published_at``, ``.github_repo``, ``.project_page``, ``.abs_url``, ``.pdf_url``, ...).
    """

    paper: Paper
    entry: DailyEntry | None
    organization: Organization | None
    upvotes: int
    num_comments: int
    score: float  # trending score at the ``now`` of the query (0 when not on the daily list)
    submitted_by: str | None  # papertide username, or the Hugging Face name for imported entries


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


@dataclass(frozen=True)
class PaperDetail:
    item: FeedItem
    bibtex: str

    @property
    def paper(self) -> Paper:
        return self.item.paper


@dataclass(frozen=True)
class OrganizationPage:
    organization: Organization
    items: list[FeedItem]
    total: int
    total_upvotes: int
    page: int
    limit: int

    @property
    def has_more(self) -> bool:
        return (self.page + 1) * self.limit < self.total


@dataclass(frozen=True)
class VotePoint:
    day: date
    votes: int  # papertide votes cast that day
    total: int  # cumulative upvotes at the end of that day (imported count included)


@dataclass(frozen=True)
class RisingItem:
    item: FeedItem
    recent_votes: int
    daily_votes: list[int] = field(default_factory=list)  # votes per day over the window, oldest first


# ---------------------------------------------------------------------------------------------
# Periods


def day_period(day: date) -> Period:
    return Period("day", day, day + timedelta(days=1), day.isoformat(), day.strftime("%a %-d %b %Y"))


def week_period(day: date) -> Period:
    year, week, weekday = day.isocalendar()
    start = day - timedelta(days=weekday - 1)
    end = start + timedelta(days=7)
    last = end - timedelta(days=1)
    return Period("week", start, end, f"{year}-W{week:02d}",
                  f"Week {week}, {year} ({start.strftime('%-d %b')} – {last.strftime('%-d %b')})")


def month_period(day: date) -> Period:
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period("month", start, end, start.strftime("%Y-%m"), start.strftime("%B %Y"))


def parse_period(day: str | date | None = None, week: str | None = None, month: str | None = None) -> Period | None:
    """The period the query parameters name, None when none is given; ``InvalidQuery`` if malformed."""
    given = [v for v in (day, week, month) if v not in (None, "")]
    if len(given) > 1:
        raise InvalidQuery("give one of date, week or month, not several")
    try:
        if isinstance(day, date):
            return day_period(day)
        if day:
            return day_period(date.fromisoformat(_short(day)))
        if week:
            match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", _short(week).upper())
            if not match:
                raise ValueError
            return week_period(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        if month:
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", _short(month))
            if not match:
                raise ValueError
            return month_period(date(int(match[1]), int(match[2]), 1))
    except ValueError:
        raise InvalidQuery("dates are YYYY-MM-DD, weeks YYYY-Www (e.g. 2025-W09), months YYYY-MM") from None
    return None


def _short(text: str) -> str:
    return text.strip()[:20]


def normalise_sort(sort: str | None) -> str:
    sort = SORT_ALIASES.get(sort or "trending", sort or "trending")
    if sort not in SORTS:
        raise InvalidQuery(f"sort is one of {', '.join(SORTS)}")
    return sort


def _page_limit(page: int, limit: int) -> tuple[int, int]:
    if page < 0 or page > 100_000:
        raise InvalidQuery("the page number p starts at 0")
    if limit < 1:
        raise InvalidQuery("limit is at least 1")
    return page, min(limit, MAX_LIMIT)


# ---------------------------------------------------------------------------------------------
# The daily list


def _items_query(*, include_hidden: bool = False, on_list: bool = False) -> Select:
    """Papers with their daily entry, organisation and submitter; hidden papers excluded.
    ``on_list``: only papers on the daily list (an inner join the planner can drive by date)."""
    query = select(Paper, DailyEntry, Organization, User.username)
    on_entry = DailyEntry.paper_id == Paper.id
    query = query.join(DailyEntry, on_entry) if on_list else query.outerjoin(DailyEntry, on_entry)
    query = (
        query
        .outerjoin(Organization, Organization.id == Paper.organization_id)
        .outerjoin(User, User.id == DailyEntry.submitted_by_user_id)
    )
    return query if include_hidden else query.where(Paper.hidden.is_(False))


def _item(row, now: datetime | None) -> FeedItem:
    paper, entry, organization, username = row
    upvotes = paper.imported_upvotes + paper.vote_count
    score = ranking.trending_score(upvotes, entry.submitted_at, now) if entry is not None and now is not None else 0.0
    submitted_by = username or (entry.submitted_by_name if entry is not None else None)
    return FeedItem(paper, entry, organization, upvotes, paper.imported_comments + paper.comment_count, score, submitted_by)


def _sort_key(sort: str, *, score: float, upvotes: int, submitted: datetime | None, published: datetime | None,
              paper_id: int) -> tuple:
    """The one definition of each sort (descending); ties go to the newer submission, then the id."""
    submitted_ts = (submitted or published).timestamp() if (submitted or published) else 0.0
    published_ts = published.timestamp() if published else submitted_ts
    if sort == "trending":
        return (score, upvotes, submitted_ts, paper_id)
    if sort == "upvotes":
        return (upvotes, submitted_ts, paper_id)
    return (published_ts, submitted_ts, paper_id)


def sort_items(items: list[FeedItem], sort: str) -> list[FeedItem]:
    """Order items by a sort name (stable: see ``_sort_key``)."""
    return sorted(items, reverse=True, key=lambda i: _sort_key(
        sort, score=i.score, upvotes=i.upvotes, submitted=i.entry.submitted_at if i.entry else None,
        published=i.paper.published_at, paper_id=i.paper.id))


def _sorted_page(session: Session, where: list, sort: str, now: datetime, page: int, limit: int, *,
                 on_list: bool) -> tuple[list[FeedItem], int, int]:
    """(one page of items, how many match, their total upvotes), sorting on a few columns of every
    match and loading whole rows for the page only: a month has hundreds of papers, a page 50."""
    upvotes = Paper.imported_upvotes + Paper.vote_count
    query = select(Paper.id, upvotes, DailyEntry.submitted_at, Paper.published_at)
    on_entry = DailyEntry.paper_id == Paper.id
    query = query.join(DailyEntry, on_entry) if on_list else query.outerjoin(DailyEntry, on_entry)
    query = query.outerjoin(User, User.id == DailyEntry.submitted_by_user_id).where(Paper.hidden.is_(False), *where)
    rows = session.execute(query).all()
    rows.sort(reverse=True, key=lambda r: _sort_key(
        sort, score=ranking.trending_score(r[1], r[2], now) if r[2] else 0.0, upvotes=r[1], submitted=r[2],
        published=r[3], paper_id=r[0]))
    ids = [r[0] for r in rows[page * limit:(page + 1) * limit]]
    loaded = {row[0].id: _item(row, now) for row in session.execute(_items_query().where(Paper.id.in_(ids)))} if ids else {}
    return [loaded[i] for i in ids if i in loaded], len(rows), sum(r[1] for r in rows)


def latest_daily_date(session: Session, *, on_or_before: date | None = None) -> date | None:
    """The newest day that has any (visible) paper on the daily list, optionally not after a day."""
    query = select(func.max(DailyEntry.daily_date)).join(Paper, Paper.id == DailyEntry.paper_id).where(Paper.hidden.is_(False))
    if on_or_before is not None:
        query = query.where(DailyEntry.daily_date <= on_or_before)
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
) -> FeedPage:
    """The daily list for a day, an ISO week or a month (default: the newest day that has papers,
    on or before ``now``), sorted by ``trending`` / ``upvotes`` / ``newest``, a page at a time.

    ``prev`` / ``next`` are the nearest periods that have papers (for a day: the previous and next
    days with papers, skipping empty weekends). Raises ``InvalidQuery`` for malformed input.
    """
    sort = normalise_sort(sort)
    page, limit = _page_limit(page, limit)
    period = parse_period(day, week, month)
    if period is None:
        latest = latest_daily_date(session, on_or_before=now.date()) or latest_daily_date(session)
        if latest is None:
            return FeedPage(None, sort, [], page, limit, 0)
        period = day_period(latest)
    where = [DailyEntry.daily_date >= period.start, DailyEntry.daily_date < period.end]
    if submitter:
        where.append(or_(User.username == submitter, DailyEntry.submitted_by_name == submitter))
    items, total, _ = _sorted_page(session, where, sort, now, page, limit, on_list=True)
    prev, next_ = _neighbours(session, period)
    return FeedPage(period, sort, items, page, limit, total, prev, next_)


def _neighbours(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    visible = and_(Paper.id == DailyEntry.paper_id, Paper.hidden.is_(False))
    before = session.scalar(select(func.max(DailyEntry.daily_date)).join(Paper, visible).where(DailyEntry.daily_date < period.start))
    after = session.scalar(select(func.min(DailyEntry.daily_date)).join(Paper, visible).where(DailyEntry.daily_date >= period.end))
    make = {"day": day_period, "week": week_period, "month": month_period}[period.kind]
    return (make(before) if before else None), (make(after) if after else None)


def recent_feed(session: Session, *, sort: str = "newest", now: datetime, page: int = 0, limit: int = 50,
                submitter: str | None = None) -> FeedPage:
    """The newest submissions across days (Hugging Face's ``/api/daily_papers`` without a date):
    page ``p`` walks back in time ``limit`` papers at a time. Sorted within the page."""
    sort = normalise_sort(sort)
    page, limit = _page_limit(page, limit)
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
    rows = {row[0].id: row for row in session.execute(_items_query(on_list=True).where(Paper.id.in_(ids)))}
    items = sort_items([_item(rows[i], now) for i in ids if i in rows], sort)
    return FeedPage(None, sort, items, page, limit, total)


def trending(session: Session, now: datetime, *, days: int = 7, limit: int = 30) -> list[FeedItem]:
    """The highest trending scores among papers submitted in the last ``days`` days.

    When nothing was submitted in that window (an archive, a quiet week), the window ends at the
    newest day that has papers instead, so the page never goes blank.
    """
    end = now.date() + timedelta(days=1)
    latest = latest_daily_date(session, on_or_before=now.date())
    if latest is not None and latest < end - timedelta(days=days):
        end = latest + timedelta(days=1)
    query = _items_query(on_list=True).where(DailyEntry.daily_date >= end - timedelta(days=days), DailyEntry.daily_date < end)
    return sort_items([_item(row, now) for row in session.execute(query)], "trending")[:limit]


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
    rows = {row[0].id: _item(row, now) for row in session.execute(_items_query().where(Paper.id.in_([c[0] for c in counts])))}
    per_day: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for paper_id, created in session.execute(
        select(Vote.paper_id, Vote.created_at).where(Vote.paper_id.in_(list(rows)), Vote.created_at >= since, Vote.created_at <= now)
    ):
        index = (created.date() - since.date()).days
        if 0 <= index < days:
            per_day[paper_id][index] += 1
    result = [RisingItem(rows[pid], n, per_day[pid]) for pid, n in counts if pid in rows]
    return result[:limit]


# ---------------------------------------------------------------------------------------------
# One paper


def get_paper_item(session: Session, arxiv_id: str, *, now: datetime | None = None, include_hidden: bool = False) -> FeedItem | None:
    arxiv_id = normalise_arxiv_id(arxiv_id)
    if arxiv_id is None:
        return None
    query = _items_query(include_hidden=include_hidden)
    row = session.execute(query.where(Paper.arxiv_id == arxiv_id)).first()
    return _item(row, now) if row else None


def get_paper_detail(session: Session, arxiv_id: str, *, now: datetime | None = None, include_hidden: bool = False) -> PaperDetail | None:
    """Everything the paper page shows except comments and similar papers (ask
    ``community.comments.list_comments`` and ``similar_papers``); None if unknown or hidden."""
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
    day = first
    while day <= last:
        total += per_day.get(day, 0)
        points.append(VotePoint(day, per_day.get(day, 0), total))
        day += timedelta(days=1)
    return points


# ---------------------------------------------------------------------------------------------
# Organisations


def organization_page(session: Session, slug: str, *, sort: str = "newest", now: datetime, page: int = 0,
                      limit: int = 50) -> OrganizationPage | None:
    """An organisation and its papers (on the daily list or not); None if unknown."""
    sort = normalise_sort(sort)
    page, limit = _page_limit(page, limit)
    organization = session.scalar(select(Organization).where(Organization.slug == (slug or "")[:100]))
    if organization is None:
        return None
    items, total, upvotes = _sorted_page(session, [Paper.organization_id == organization.id], sort, now, page, limit,
                                         on_list=False)
    return OrganizationPage(organization, items, total, upvotes, page, limit)


# ---------------------------------------------------------------------------------------------
# Papers by id, in a given order (search results: see papertide.search.papers)


def items_by_ids(session: Session, arxiv_ids: list[str], *, now: datetime | None = None) -> list[FeedItem]:
    """Visible papers for ``arxiv_ids``, in the order given."""
    if not arxiv_ids:
        return []
    found = {row[0].arxiv_id: _item(row, now) for row in session.execute(_items_query().where(Paper.arxiv_id.in_(arxiv_ids)))}
    return [found[a] for a in arxiv_ids if a in found]



# ---------------------------------------------------------------------------------------------
# Cache keys


def content_version(session: Session) -> int:
    """Changes whenever any list could change (votes, comments, submissions, moderation)."""
    return versions.current(session)[0]


def paper_version(session: Session, paper_id: int) -> int:
    """Changes whenever what one paper's page shows could change."""
    return versions.current(session, [versions.paper_key(paper_id)])[0]


def content_version_reader(engine: Engine) -> Callable[[], int]:
    """``content_version`` without a session, for the page cache's hot path (see ``versions.reader``)."""
    return versions.reader(engine)
