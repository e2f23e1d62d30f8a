"""A small catalog to test against, shared by the web and ingest tests: records built in one
call, and three days of papers (Mon 18, Tue 19, Thu 21 Aug 2025) read at ``NOW``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.db import Database

NOW = datetime(2025, 8, 21, 9, 0, tzinfo=timezone.utc)  # a Thursday morning


def make_record(arxiv_id: str, title: str, *, day: date | None, upvotes: int = 0, comments: int = 0,
                org: tuple[str, str] | None = None, authors: list[str] | None = None, abstract: str | None = None,
                published: datetime | None = None, github: str | None = None, submitted_by: str | None = "someone",
                hour: int = 6) -> PaperRecord:
    """A valid record with a place on the daily list of ``day`` (None: catalog only)."""
    published = published or (datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) - timedelta(days=1)
                               if day else datetime(2025, 8, 1, tzinfo=timezone.utc))
    return PaperRecord(
        arxiv_id=arxiv_id, version=1, title=title,
        abstract=abstract or f"We study {title.lower()} and report results.",
        authors=authors or ["Ada Lovelace", "Alan Turing"],
        published_at=published, github_repo=github, upvotes=upvotes, num_comments=comments,
        organization={"slug": org[0], "name": org[1]} if org else None,
        daily={"date": day, "submitted_at": datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
               + timedelta(hours=hour), "submitted_by": submitted_by} if day else None,
    )


# The standard small catalog: three days with papers (Mon 18, Tue 19, Thu 21 Aug 2025), an
# organisation, and one paper outside the daily list.
MON, TUE, THU = date(2025, 8, 18), date(2025, 8, 19), date(2025, 8, 21)
CATALOG = [
    make_record("2508.00001", "Sparse attention for long context", day=MON, upvotes=5, org=("acme", "Acme AI")),
    make_record("2508.00002", "Diffusion models for protein design", day=MON, upvotes=12),
    make_record("2508.00003", "Vision transformers at scale", day=TUE, upvotes=3, org=("acme", "Acme AI"),
                github="https://github.com/acme/vit"),
    make_record("2508.00004", "Reinforcement learning from feedback", day=THU, upvotes=40, hour=1,
                published=datetime(2025, 8, 1, tzinfo=timezone.utc)),
    make_record("2508.00005", "Tiny language models that reason", day=THU, upvotes=8, hour=8,
                published=datetime(2025, 8, 20, tzinfo=timezone.utc)),
    make_record("2508.00006", "Retrieval augmented attention", day=THU, upvotes=0, hour=7,
                published=datetime(2025, 8, 19, tzinfo=timezone.utc)),
    make_record("2508.00007", "A survey of sparse attention", day=None, upvotes=1, org=("acme", "Acme AI")),
]


def seed(database: Database, records: list[PaperRecord] = CATALOG) -> None:
    with database.session() as session:
        upsert_papers(session, records)
