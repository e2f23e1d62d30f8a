"""Catalog tables: what a paper is, who published it, and when it was on the daily list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from papertide.catalog.paper_ids import LOCAL_PREFIX, is_arxiv_key
from papertide.orm import Base, JSONDocument, UTCDateTime, utcnow


class Organization(Base):
    """A lab or company that papers are attributed to (Hugging Face "organization")."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    papers: Mapped[list["Paper"]] = relationship(back_populates="organization")


class OrganizationAlias(Base):
    """A key an organisation is recognised by (``catalog.organization_keys``): ``id:<a source's id,
    in lower case>`` or ``name:<its name, normalised>``. Ingest looks organisations up here, so
    one university under several Hugging Face ids stays one organisation, and an address with
    an id merged away still finds it."""

    __tablename__ = "organization_aliases"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class Paper(Base):
    """One paper, at its newest known version: an arXiv paper, or a local one (``arxiv_id`` then
    holds its local id, ``local-...``; see ``catalog.paper_ids``).

    Upvote and comment counts are kept in two parts: what a source reported (``imported_*``,
    e.g. Hugging Face's count when the paper was ingested) and what papertide's own users did
    (``vote_count``, ``comment_count``, maintained by the community service in the same
    transaction as the vote or comment). The totals are their sums.
    """

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(40), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    categories: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    primary_category: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(200))
    github_repo: Mapped[str | None] = mapped_column(String(1000))
    github_stars: Mapped[int | None] = mapped_column(Integer)
    project_page: Mapped[str | None] = mapped_column(String(1000))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[str] | None] = mapped_column(JSONDocument)
    imported_upvotes: Mapped[int] = mapped_column(Integer, default=0)
    imported_comments: Mapped[int] = mapped_column(Integer, default=0)
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    # Hash of the source-derived fields: lets a re-ingest tell "unchanged" without a field diff.
    content_hash: Mapped[str] = mapped_column(String(64))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="papers")
    daily_entry: Mapped["DailyEntry | None"] = relationship(back_populates="paper", uselist=False)

    @property
    def upvotes(self) -> int:
        return self.imported_upvotes + self.vote_count

    @property
    def num_comments(self) -> int:
        return self.imported_comments + self.comment_count

    @property
    def is_arxiv(self) -> bool:
        """Whether this is an arXiv paper; ``arxiv_id`` is a local id (``local-...``) otherwise."""
        return is_arxiv_key(self.arxiv_id)

    @classmethod
    def on_arxiv(cls):
        """``is_arxiv`` as a SQL condition, for queries that ask arXiv for something (PDFs)."""
        return cls.arxiv_id.not_like(f"{LOCAL_PREFIX}%")

    @property
    def abs_url(self) -> str | None:
        """Its arXiv abstract page; None for a local paper, which arXiv does not have."""
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.is_arxiv else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.is_arxiv else None


class DailyEntry(Base):
    """A paper's place on the daily list: the day it was put there, and by whom.

    A paper is on the list once; the first day it was submitted wins.
    """

    __tablename__ = "daily_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), unique=True)
    daily_date: Mapped[date] = mapped_column(Date, index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # For entries imported from Hugging Face: the HF username that submitted it.
    submitted_by_name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="import")

    paper: Mapped[Paper] = relationship(back_populates="daily_entry")


class HarvestCheckpoint(Base):
    """Where a long harvest (e.g. OAI-PMH) stopped, so that the next run resumes there."""

    __tablename__ = "harvest_checkpoints"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SourcePacing(Base):
    """When the next request to a host may go out, for every process of the installation
    (``papertide.ingest.pacing``): arXiv's "3 seconds between calls" is per client, not per process."""

    __tablename__ = "source_pacing"

    host: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_request_at: Mapped[float] = mapped_column(Float)  # Unix time: several machines share it


class ContentVersion(Base):
    """A counter per cacheable thing ("catalog", "paper:42"), bumped in the same transaction as
    any change a reader would see (ingest, vote, comment, moderation, submission).

    Web workers key their caches on these numbers: one indexed read tells every worker whether
    what it cached is still current, without any cross-process messaging.
    """

    __tablename__ = "content_versions"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class PaperAuthor(Base):
    """Which papers carry an author's name, by its normalised form (``catalog.authors``): the index
    behind author pages. Derived from ``papers.authors`` by the upsert and nothing else.

    The name is kept as a 64-bit hash of its normal form, not as text: ten rows per paper on
    average, so the index stays a fraction of the catalog's size. Readers confirm each match
    against the paper's own author list, so a hash collision can never show a wrong paper.
    """

    __tablename__ = "paper_authors"
    __table_args__ = {"sqlite_with_rowid": False}  # the key is the row: one B-tree, not two

    author_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True)


class PaperThumbnail(Base):
    """A paper's first-page thumbnail: where the fetch stands, and the file once it is rendered.

    ``status``: ``done`` (``file`` is in the thumbnails folder), ``failed`` (tried again after
    ``next_attempt_at``, a few times at most) or ``missing`` (arXiv has no PDF: never again).
    ``claimed_until`` lets several workers share the work without fetching a PDF twice.
    """

    __tablename__ = "paper_thumbnails"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    file: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
