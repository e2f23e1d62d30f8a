"""The "For you" ranking: new papers close to what a reader upvoted, saved and follows.

Each candidate earns relevance from the reader's signals, and every part of it is a reason the
card can show:

* closeness: the cosine between its embedding and the nearest paper the reader upvoted or saved
  ("because you upvoted X"). A cosine counts only in the closest quarter of the candidates and
  above ``MIN_SIMILARITY``: in a corpus of AI papers any two abstracts are somewhat alike
  (median 0.36 on the demo corpus), so a fixed bar alone would call everything close;
* a followed author on it, a followed organisation behind it, a digest topic it matched.

Papers without relevance are left out. Among the rest, recency (half-life ``HALF_LIFE_DAYS``)
and the community's votes (log-scaled) add a little, enough to order near-equals, never enough
to lift an unrelated paper. The same ``Ranker`` orders the "For you" page and the interests
digest (``digest.select``), so both pick the same papers for the same reader.
"""

from __future__ import annotations

import math
from urllib.parse import quote
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.catalog.authors import author_key
from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.feed.daily import latest_daily_date
from papertide.feed.items import FeedItem, items_by_paper_ids
from papertide.feed.signals import Signals, reader_signals
from papertide.feed.vectors import Vectors, closest, load_by_model

MIN_SIGNALS = 3  # upvotes, saves and follows a reader gives before the page ranks anything
WINDOW_DAYS = 14  # "new": on the daily list in the last two weeks
MAX_CANDIDATES = 3000
MIN_SIMILARITY = 0.40
SECOND_ANCHOR = 0.3  # share of the second-closest anchor in closeness
CLOSE_SHARE = 0.25  # the closest quarter of the candidates may count as close
CLOSENESS = (0.2, 0.8)  # relevance of a paper just past the bar, and what the closest one adds
FOLLOWED_AUTHOR = 0.6
FOLLOWED_ORGANIZATION = 0.4
TOPIC = 0.5
RECENCY = 0.15
HALF_LIFE_DAYS = 7.0
VOTES = 0.10


@dataclass(frozen=True)
class Candidate:
    """A new paper the ranking may pick."""

    id: int
    authors: tuple[str, ...]
    organization: str | None  # slug
    upvotes: int
    submitted_at: datetime | None


@dataclass(frozen=True)
class Reason:
    kind: str  # upvoted | saved | author | organization | topic
    subject: str  # the paper's title, the name, the topic
    link: str | None = None
    weight: float = 0.0

    @property
    def lead(self) -> str:
        return {"upvoted": "Because you upvoted", "saved": "Because you saved", "author": "By an author you follow:",
                "organization": "From an organisation you follow:", "topic": "Matches your topic"}[self.kind]


@dataclass(frozen=True)
class Pick:
    paper_id: int
    score: float
    reasons: tuple[Reason, ...]  # the strongest first


class Ranker:
    """Ranks one set of candidates for any number of readers (a digest run ranks a period's
    papers for every subscriber): the candidates' vectors are read once, on first use."""

    def __init__(self, candidates: Sequence[Candidate], now: datetime):
        self.candidates = list(candidates)
        self.now = now
        self._vectors: dict[str, Vectors] | None = None
        most = max((c.upvotes for c in self.candidates), default=0)
        self._vote_scale = math.log1p(max(most, 10))

    def rank(self, session: Session, signals: Signals, topics: Mapping[int, str] | None = None) -> list[Pick]:
        """The candidates with any relevance to ``signals`` (and ``topics``: paper id -> the topic
        it matched), best first. Papers the reader upvoted or saved are not picked again."""
        topics = topics or {}
        reasons: list[list[Reason]] = [[] for _ in self.candidates]
        self._add_closeness(session, signals, reasons)
        for position, candidate in enumerate(self.candidates):
            followed = [name for name in candidate.authors if author_key(name) in signals.authors]
            if followed:
                reasons[position].append(Reason("author", followed[0], f"/authors/{quote(followed[0], safe='')}",
                                                FOLLOWED_AUTHOR))
            slug = (candidate.organization or "").lower()
            if slug in signals.organizations:
                name = signals.organizations[slug]
                reasons[position].append(Reason("organization", name, f"/orgs/{quote(candidate.organization or '', safe='')}",
                                                FOLLOWED_ORGANIZATION))
            if candidate.id in topics:
                reasons[position].append(Reason("topic", topics[candidate.id], None, TOPIC))
        known = {anchor.paper_id for anchor in signals.anchors}
        picks = [
            Pick(candidate.id, self._score(candidate, sum(r.weight for r in why)), tuple(sorted(why, key=lambda r: -r.weight)))
            for candidate, why in zip(self.candidates, reasons) if why and candidate.id not in known
        ]
        return sorted(picks, key=lambda pick: (-pick.score, -pick.paper_id))

    def _add_closeness(self, session: Session, signals: Signals, reasons: list[list[Reason]]) -> None:
        if not signals.anchors or not self.candidates:
            return
        anchor_ids = [anchor.paper_id for anchor in signals.anchors]
        anchor_vectors = load_by_model(session, anchor_ids)
        if self._vectors is None:
            self._vectors = load_by_model(session, [c.id for c in self.candidates])
        shared = [model for model in anchor_vectors if model in self._vectors]
        if not shared:
            return
        model = max(shared, key=lambda m: (len(anchor_vectors[m].ids), len(self._vectors[m].ids), m))
        anchor_positions, anchor_rows = anchor_vectors[model].of(anchor_ids)
        positions, rows = self._vectors[model].of([c.id for c in self.candidates])
        similarity, nearest = closest(anchor_rows, rows, SECOND_ANCHOR)
        if not len(similarity):
            return
        bar = max(MIN_SIMILARITY, float(np.quantile(similarity, 1 - CLOSE_SHARE)))
        top = max(float(similarity.max()), bar + 1e-6)
        base, span = CLOSENESS
        for position, value, anchor_row in zip(positions.tolist(), similarity.tolist(), nearest.tolist()):
            if value < bar:
                continue
            anchor = signals.anchors[anchor_positions[anchor_row]]
            weight = base + span * (value - bar) / (top - bar)
            reasons[position].append(Reason(anchor.kind, anchor.title, f"/papers/{anchor.arxiv_id}", weight))

    def _score(self, candidate: Candidate, relevance: float) -> float:
        recency = 0.0
        if candidate.submitted_at is not None:
            age_days = max((self.now - candidate.submitted_at).total_seconds(), 0.0) / 86_400
            recency = 0.5 ** (age_days / HALF_LIFE_DAYS)
        votes = math.log1p(max(candidate.upvotes, 0)) / self._vote_scale
        return relevance + RECENCY * recency + VOTES * min(votes, 1.0)


# ---------------------------------------------------------------------------------------------
# The page


@dataclass(frozen=True)
class ForYouItem:
    item: FeedItem
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class ForYouPage:
    items: list[ForYouItem]
    signals: int  # how many things the reader gave
    considered: int  # new papers ranked
    days: int

    @property
    def ready(self) -> bool:
        return self.signals >= MIN_SIGNALS


def new_candidates(session: Session, now: datetime, *, days: int = WINDOW_DAYS) -> list[Candidate]:
    """The papers put on the daily list in the ``days`` days up to ``now`` (newest first, at most
    ``MAX_CANDIDATES``); on an archive, or after a quiet spell, the days up to the newest list."""
    end = (latest_daily_date(session, on_or_before=now.date()) or now.date()) + timedelta(days=1)
    rows = session.execute(
        select(Paper.id, Paper.authors, Organization.slug, Paper.imported_upvotes + Paper.vote_count, DailyEntry.submitted_at)
        .join(DailyEntry, DailyEntry.paper_id == Paper.id).outerjoin(Organization, Organization.id == Paper.organization_id)
        .where(DailyEntry.daily_date >= end - timedelta(days=days), DailyEntry.daily_date < end, Paper.hidden.is_(False))
        .order_by(DailyEntry.daily_date.desc(), Paper.id.desc()).limit(MAX_CANDIDATES)
    )
    return [Candidate(r[0], tuple(r[1] or ()), r[2], r[3] or 0, r[4]) for r in rows]


def for_you(session: Session, user_id: int, *, now: datetime, limit: int = 30, days: int = WINDOW_DAYS) -> ForYouPage:
    """The reader's "For you" page: nothing until they gave ``MIN_SIGNALS`` signals."""
    signals = reader_signals(session, user_id)
    if signals.count < MIN_SIGNALS:
        return ForYouPage([], signals.count, 0, days)
    candidates = new_candidates(session, now, days=days)
    picks = Ranker(candidates, now).rank(session, signals)[:limit]
    loaded = {item.paper.id: item for item in items_by_paper_ids(session, [p.paper_id for p in picks], now=now)}
    items = [ForYouItem(loaded[p.paper_id], p.reasons) for p in picks if p.paper_id in loaded]
    return ForYouPage(items, signals.count, len(candidates), days)
