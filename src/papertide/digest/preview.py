"""Previews: a subscriber's next digest (for admins), and a sample digest (for visitors)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import Message

from sqlalchemy import func, select

from papertide.catalog.models import DailyEntry
from papertide.config import Settings
from papertide.db import Database
from papertide.digest.compose import Composer, PaperCache, body_of
from papertide.digest.models import Subscription
from papertide.digest.periods import DigestPeriod
from papertide.digest.select import PaperSelector

SAMPLE_ADDRESS = "you@example.com"


@dataclass
class Preview:
    message: Message
    period: DigestPeriod
    note: str | None  # e.g. why an older period is shown

    def part(self, subtype: str) -> str:
        return body_of(self.message, subtype)


def latest_list_day(database: Database, on_or_before: date) -> date | None:
    with database.session() as session:
        return session.scalar(select(func.max(DailyEntry.daily_date)).where(DailyEntry.daily_date <= on_or_before))


def preview_digest(
    database: Database, settings: Settings, subscription: Subscription | None, *, today: date, frequency: str | None = None
) -> Preview | None:
    """The digest ``subscription`` would get for the period in progress (or a sample of trending
    papers when None). When that period has no papers yet, the latest period that has is shown."""
    frequency = frequency or (subscription.frequency if subscription else "daily")
    period = DigestPeriod.containing(frequency, today)
    note = None
    selector = PaperSelector(database, period)
    if not selector.candidates:
        latest = latest_list_day(database, today)
        if latest is None:
            return None
        period = DigestPeriod.containing(frequency, latest)
        selector = PaperSelector(database, period)
        note = f"No papers are on the list for the current period yet; showing {period.label}."
    if subscription is None:
        sample = Subscription(id=0, email=SAMPLE_ADDRESS, content="trending", topics=[], follow_organizations=[],
                              follow_authors=[], max_papers=10, frequency=frequency)
        subscription = sample
    paper_ids = selector.papers_for(subscription)
    composer = Composer(settings)
    papers = PaperCache(database, composer.base_url).get(paper_ids)
    message = composer.digest(subscription_id=subscription.id, email=subscription.email, period=period, papers=papers)
    if not papers:
        note = (note + " " if note else "") + "Nothing matches these preferences in that period, so no digest would be sent."
    return Preview(message, period, note)
