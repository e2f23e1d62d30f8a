"""A reader with a history, for screenshots of the reader's own pages: vectors imported, the
newest papers' thumbnails rendered, upvotes on diffusion papers, follows and two collections."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.community import collections, follows, votes
from papertide.community.models import User
from papertide.config import Settings
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.thumbnails import fetch_thumbnails
from tests.feed.helpers import import_demo_vectors
from tests.ingest.pdfs import paper_pdf, serve_pdfs

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
THUMBNAILS = 60  # the newest papers get one, as after a few runs of the job

# (file, path with {author}/{collection}, device, colour scheme, full page)
READER_SHOTS = [
    ("for-you.png", "/for-you", DESKTOP, "light", False),
    ("for-you-phone.png", "/for-you", PHONE, "light", False),
    ("author.png", "/authors/{author}", DESKTOP, "light", False),
    ("collections.png", "/collections", DESKTOP, "light", False),
    ("collection.png", "/collections/{collection}", DESKTOP, "light", False),
    ("collection-dark.png", "/collections/{collection}", DESKTOP, "dark", False),
    ("author-phone.png", "/authors/{author}", PHONE, "light", False),
]


def set_the_scene(site, username: str) -> dict[str, str]:
    """Give ``username`` (signed up already) a history; returns the author page and the shared
    collection the shots show."""
    database = site.database
    import_demo_vectors(database)
    with database.session() as session:
        newest = session.execute(select(Paper.arxiv_id, Paper.title, Paper.authors, Paper.abstract)
                                 .join(DailyEntry, DailyEntry.paper_id == Paper.id)
                                 .order_by(DailyEntry.daily_date.desc(), Paper.id.desc()).limit(THUMBNAILS)).all()
    with serve_pdfs({a: paper_pdf(t, list(n), b) for a, t, n, b in newest}) as url:
        settings = Settings(database_url=database.url, arxiv_pdf_url=url)
        fetch_thumbnails(database, settings, THUMBNAILS, fetcher=PoliteFetcher(delay=0))
    now = datetime.now(timezone.utc)
    with database.session() as session:
        user = session.scalar(select(User.id).where(User.username == username))
        listed = session.execute(select(Paper.arxiv_id, Paper.title, Paper.authors, DailyEntry.daily_date)
                                 .join(DailyEntry, DailyEntry.paper_id == Paper.id)
                                 .order_by(DailyEntry.daily_date, Paper.id)).all()
        older = listed[: len(listed) // 3]
        diffusion = [r for r in older if "diffusion" in r.title.lower()][:5]
        for paper in diffusion:
            votes.set_vote(session, user, paper.arxiv_id, True, now=now)
        recent = [r for r in listed[-THUMBNAILS:] if len(r.authors) > 2]
        author = recent[3].authors[0]
        follows.set_follow(session, user, "author", author, True, now=now)
        slug = session.scalar(select(Organization.slug).join(Paper, Paper.organization_id == Organization.id)
                              .join(DailyEntry, DailyEntry.paper_id == Paper.id).order_by(DailyEntry.daily_date.desc()))
        if slug:
            follows.set_follow(session, user, "organization", slug, True, now=now)
        shelf = collections.create_collection(session, user, "Video diffusion reading group",
                                              "Papers for Thursday's reading group: long video generation and its tricks.",
                                              shared=True, now=now)
        for paper in [r for r in listed[-THUMBNAILS:] if "video" in r.title.lower()][:5] or recent[:5]:
            collections.set_item(session, user, shelf.public_id, paper.arxiv_id, True, now=now)
        later = collections.create_collection(session, user, "To read this weekend", now=now)
        for paper in recent[5:8]:
            collections.set_item(session, user, later.public_id, paper.arxiv_id, True, now=now)
    return {"author": author, "collection": shelf.public_id}
