"""Which papers go into a subscriber's digest for a period.

The candidates are the papers put on the daily list during the period, loaded once per run:
every subscriber's digest is a choice among them, so ten thousand digests cost one query.

* trending: a day's papers by ``ranking.trending_score`` as of its end, a week's by upvotes;
* interests: the "For you" ranking (``feed.for_you.Ranker``) of the period's papers: close to what
  a signed-in subscriber upvoted and saved, by the authors and organisations they follow on the
  site or list in their preferences, or matching their free-text topics through the search
  service (a keyword match over the period's papers if the search backend fails);
* both: interest matches first, then trending papers to fill the digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.db import Database
from papertide.digest.models import Subscription
from papertide.digest.periods import DigestPeriod
from papertide.feed.for_you import Candidate as RankedCandidate, Ranker
from papertide.feed.signals import Signals, organization_names, reader_signals
from papertide.ranking import trending_score
from papertide.search import Filters, SearchQuery, search_service

# How many hits to ask the search service for per topic, before keeping those of the period.
SEARCH_DEPTH = 200


@dataclass(frozen=True)
class Candidate:
    """A paper on the list during the period, with what selection needs to know about it."""

    id: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    organization: str | None  # slug
    upvotes: int
    submitted_at: datetime


TopicMatcher = Callable[[str, Sequence[Candidate], DigestPeriod], list[int]]


def load_candidates(database: Database, period: DigestPeriod) -> list[Candidate]:
    with database.session() as session:
        rows = session.execute(
            select(
                Paper.id, Paper.title, Paper.abstract, Paper.authors, Organization.slug,
                Paper.imported_upvotes + Paper.vote_count, DailyEntry.submitted_at,
            )
            .join(DailyEntry, DailyEntry.paper_id == Paper.id)
            .outerjoin(Organization, Organization.id == Paper.organization_id)
            .where(DailyEntry.daily_date >= period.start, DailyEntry.daily_date <= period.end, Paper.hidden.is_(False))
            .order_by(Paper.id)
        )
        return [Candidate(r[0], r[1], r[2], tuple(r[3] or ()), r[4], r[5] or 0, r[6]) for r in rows]


def keyword_matcher(topic: str, candidates: Sequence[Candidate], period: DigestPeriod) -> list[int]:
    """Papers whose title or abstract holds every word of ``topic``, titles first, then by votes."""
    words = [re.compile(rf"\b{re.escape(word)}", re.IGNORECASE) for word in topic.split() if word]
    if not words:
        return []
    hits = []
    for paper in candidates:
        text = f"{paper.title}\n{paper.abstract}"
        if all(word.search(text) for word in words):
            in_title = all(word.search(paper.title) for word in words)
            hits.append((not in_title, -paper.upvotes, paper.id))
    return [paper_id for *_, paper_id in sorted(hits)]


def search_service_matcher(database: Database) -> TopicMatcher:
    """Topic matching through the search service (``papertide.search.search_service``).

    The search's date window is on publication, so it opens 30 days before the period (papers
    reach the daily list some days after arXiv) and hits are then kept to the period's list.
    """
    service = search_service(database)

    def match(topic: str, candidates: Sequence[Candidate], period: DigestPeriod) -> list[int]:
        wanted = {c.id for c in candidates}
        start = datetime.combine(period.start, time.min, timezone.utc) - timedelta(days=30)
        end = datetime.combine(period.end, time.max, timezone.utc)
        hits = service.search(SearchQuery(topic, SEARCH_DEPTH, Filters(published_from=start, published_before=end)))
        return [hit.paper_id for hit in hits if hit.paper_id in wanted]

    return match


class PaperSelector:
    """Chooses the papers of one period for any number of subscribers."""

    def __init__(self, database: Database, period: DigestPeriod, *, topic_matcher: TopicMatcher | None = None):
        self.period = period
        self.candidates = load_candidates(database, period)
        self._matcher = topic_matcher
        self._database = database
        self._topics: dict[str, list[int]] = {}
        self.trending = [c.id for c in sorted(self.candidates, key=self._rank_key(period))]
        as_of = datetime.combine(period.end + timedelta(days=1), time.min, timezone.utc)
        self._ranker = Ranker([RankedCandidate(c.id, c.authors, c.organization, c.upvotes, c.submitted_at)
                               for c in self.candidates], as_of)

    @staticmethod
    def _rank_key(period: DigestPeriod) -> Callable[[Candidate], tuple]:
        """Daily: the trending score as of the day's end. Weekly: upvotes, because over seven days
        the score's decay would rank Sunday's papers above the week's best."""
        as_of = datetime.combine(period.end + timedelta(days=1), time.min, timezone.utc)
        if period.frequency == "weekly":
            return lambda c: (-c.upvotes, -trending_score(c.upvotes, c.submitted_at, as_of), c.id)
        return lambda c: (-trending_score(c.upvotes, c.submitted_at, as_of), c.id)

    def _match_topic(self, topic: str) -> list[int]:
        key = topic.casefold()
        if key not in self._topics:
            if self._matcher is None:
                self._matcher = search_service_matcher(self._database)
            try:
                self._topics[key] = self._matcher(topic, self.candidates, self.period)
            except Exception:  # a broken search backend must not stop the digests: fall back
                self._topics[key] = keyword_matcher(topic, self.candidates, self.period)
        return self._topics[key]

    def interests(self, topics: Sequence[str], organizations: Sequence[str], authors: Sequence[str],
                  user_id: int | None = None) -> list[int]:
        """The period's papers for these interests and the signals of ``user_id`` (a subscriber
        with an account), best first: the "For you" ranking, topic matches as one more reason."""
        matched: dict[int, str] = {}
        for topic in topics:
            for paper_id in self._match_topic(topic):
                matched.setdefault(paper_id, topic)
        with self._database.session() as session:
            signals = reader_signals(session, user_id) if user_id is not None else Signals()
            signals = signals.with_follows(authors, organization_names(session, organizations))
            return [pick.paper_id for pick in self._ranker.rank(session, signals, matched)]

    def papers_for(self, subscription: Subscription) -> list[int]:
        """The paper ids of ``subscription``'s digest, best first, at most ``max_papers``."""
        limit = max(subscription.max_papers, 1)
        if subscription.content == "trending":
            return self.trending[:limit]
        chosen = self.interests(subscription.topics or (), subscription.follow_organizations or (),
                                subscription.follow_authors or (), subscription.user_id)
        if subscription.content == "both":
            taken = set(chosen)
            chosen += [paper_id for paper_id in self.trending if paper_id not in taken]
        return chosen[:limit]
