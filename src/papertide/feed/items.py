"""One paper as every list shows it (``FeedItem``), and the one way lists load and sort them.

An item joins the catalog (paper, daily entry, organisation) with community (the submitter's
username; the vote and comment counts kept on the paper), which is why it lives above both.
Every list sorts with ``sort_key``, so a sort means the same on the page, in the API and in feeds.
Items are detached ORM rows inside frozen dataclasses, safe to cache across requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from papertide import ranking
from papertide.catalog.models import DailyEntry, Organization, Paper, PaperThumbnail
from papertide.community.models import User


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
    thumbnail: str | None = None  # file name of its first-page thumbnail, once one is rendered

    @property
    def thumbnail_url(self) -> str | None:
        return f"/thumbnails/{self.thumbnail}" if self.thumbnail else None

    @property
    def comments_here(self) -> int:
        """The comments written here, which the paper's page shows. ``num_comments`` adds those a
        source reported (Hugging Face's count), which a page can only link to: a card that
        counted them promised comments its paper's page did not have."""
        return self.paper.comment_count


@cache
def items_query(*, include_hidden: bool = False, on_list: bool = False) -> Select:
    """Papers with their daily entry, organisation, submitter and thumbnail; hidden papers excluded.
    ``on_list``: only papers on the daily list (an inner join the planner can drive by date).
    Made once per form (a ``Select`` is immutable: ``.where`` makes a new one); building it cost
    about half a millisecond, on every page that shows papers."""
    query = select(Paper, DailyEntry, Organization, User.username, PaperThumbnail.file)
    on_entry = DailyEntry.paper_id == Paper.id
    query = query.join(DailyEntry, on_entry) if on_list else query.outerjoin(DailyEntry, on_entry)
    query = (
        query
        .outerjoin(Organization, Organization.id == Paper.organization_id)
        .outerjoin(User, User.id == DailyEntry.submitted_by_user_id)
        .outerjoin(PaperThumbnail, (PaperThumbnail.paper_id == Paper.id) & (PaperThumbnail.status == "done"))
    )
    return query if include_hidden else query.where(Paper.hidden.is_(False))


def item_from_row(row, now: datetime | None) -> FeedItem:
    """A row of ``items_query`` as an item, scored at ``now`` (no score without a ``now``)."""
    paper, entry, organization, username, thumbnail = row
    upvotes = paper.imported_upvotes + paper.vote_count
    score = ranking.trending_score(upvotes, entry.submitted_at, now) if entry is not None and now is not None else 0.0
    submitted_by = username or (entry.submitted_by_name if entry is not None else None)
    return FeedItem(paper, entry, organization, upvotes, paper.imported_comments + paper.comment_count, score, submitted_by,
                    thumbnail)


def sort_key(sort: str, *, score: float, upvotes: int, submitted: datetime | None, published: datetime | None,
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
    """Order items by a sort name (stable: see ``sort_key``)."""
    return sorted(items, reverse=True, key=lambda i: sort_key(
        sort, score=i.score, upvotes=i.upvotes, submitted=i.entry.submitted_at if i.entry else None,
        published=i.paper.published_at, paper_id=i.paper.id))


def sorted_page(session: Session, where: list, sort: str, now: datetime, page: int, limit: int, *,
                on_list: bool) -> tuple[list[FeedItem], int, int]:
    """(one page of items, how many match, their total upvotes), sorting on a few columns of every
    match and loading whole rows for the page only: a month has hundreds of papers, a page 50."""
    upvotes = Paper.imported_upvotes + Paper.vote_count
    query = select(Paper.id, upvotes, DailyEntry.submitted_at, Paper.published_at)
    on_entry = DailyEntry.paper_id == Paper.id
    query = query.join(DailyEntry, on_entry) if on_list else query.outerjoin(DailyEntry, on_entry)
    query = query.outerjoin(User, User.id == DailyEntry.submitted_by_user_id).where(Paper.hidden.is_(False), *where)
    rows = session.execute(query).all()
    rows.sort(reverse=True, key=lambda r: sort_key(
        sort, score=ranking.trending_score(r[1], r[2], now) if r[2] else 0.0, upvotes=r[1], submitted=r[2],
        published=r[3], paper_id=r[0]))
    ids = [r[0] for r in rows[page * limit:(page + 1) * limit]]
    loaded = {row[0].id: item_from_row(row, now) for row in session.execute(_by_paper_ids(), {"paper_ids": ids})} if ids else {}
    return [loaded[i] for i in ids if i in loaded], len(rows), sum(r[1] for r in rows)


@cache
def _by_arxiv_ids() -> Select:
    return items_query().where(Paper.arxiv_id.in_(bindparam("arxiv_ids", expanding=True)))


@cache
def _by_paper_ids() -> Select:
    return items_query().where(Paper.id.in_(bindparam("paper_ids", expanding=True)))


def items_by_ids(session: Session, arxiv_ids: list[str], *, now: datetime | None = None) -> list[FeedItem]:
    """Visible papers for ``arxiv_ids``, in the order given (search results, similar papers)."""
    if not arxiv_ids:
        return []
    found = {row[0].arxiv_id: item_from_row(row, now) for row in session.execute(_by_arxiv_ids(), {"arxiv_ids": list(arxiv_ids)})}
    return [found[a] for a in arxiv_ids if a in found]


def items_by_paper_ids(session: Session, paper_ids: list[int], *, now: datetime | None = None) -> list[FeedItem]:
    """Visible papers for database ids, in the order given (collections, "For you")."""
    if not paper_ids:
        return []
    found = {row[0].id: item_from_row(row, now) for row in session.execute(_by_paper_ids(), {"paper_ids": list(paper_ids)})}
    return [found[i] for i in paper_ids if i in found]
