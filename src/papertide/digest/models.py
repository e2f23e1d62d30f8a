"""Digest tables: who wants which papers, and every digest that must be (or was) sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from papertide.orm import Base, JSONDocument, UTCDateTime, utcnow


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|confirmed|unsubscribed|bounced
    frequency: Mapped[str] = mapped_column(String(10), default="daily")  # daily | weekly
    content: Mapped[str] = mapped_column(String(20), default="trending")  # trending | interests | both
    topics: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    follow_organizations: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    follow_authors: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    max_papers: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestOutbox(Base):
    """One digest for one subscriber and one period.

    The unique (subscription, period) key is what makes a digest run safe to repeat: a row is
    written once, then delivered and marked sent; a crash leaves it pending for the next run.
    """

    __tablename__ = "digest_outbox"
    __table_args__ = (UniqueConstraint("subscription_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(40))  # e.g. daily:2026-11-24, weekly:2026-W48
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sending|sent|failed|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    paper_ids: Mapped[list[int]] = mapped_column(JSONDocument, default=list)  # what the digest holds, fixed at record time
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
