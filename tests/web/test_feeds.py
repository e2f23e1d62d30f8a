"""RSS and Atom feeds, read back with feedparser (the feed library most readers build on)."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient

from tests.catalog.helpers import NOW
from tests.web.helpers import Visitor, build_app, settings_for

FEEDS = [
    ("/feeds/daily.{fmt}", {}, {"2508.00004", "2508.00005", "2508.00006"}),
    ("/feeds/daily.{fmt}", {"week": "2025-W34"}, {f"2508.0000{n}" for n in range(1, 7)}),
    ("/feeds/trending.{fmt}", {}, {f"2508.0000{n}" for n in range(1, 7)}),
    ("/feeds/organizations/acme.{fmt}", {}, {"2508.00001", "2508.00003", "2508.00007"}),
    ("/feeds/search.{fmt}", {"q": "sparse attention"}, {"2508.00001", "2508.00007", "2508.00006"}),  # any of the words
]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("path,params,expected", FEEDS)
def test_feeds_parse_cleanly_and_list_the_right_papers(client, fmt, path, params, expected):
    answer = client.get(path.format(fmt=fmt), params=params)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(f"application/{fmt}+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == ("atom10" if fmt == "atom" else "rss20")
    assert {entry.link.rsplit("/", 1)[-1] for entry in feed.entries} == expected
    for entry in feed.entries:
        assert entry.title and entry.summary and entry.link.startswith("http://testserver/papers/")
        assert entry.published_parsed or entry.updated_parsed


def test_feed_entries_carry_authors_and_organisation(client):
    feed = feedparser.parse(client.get("/feeds/organizations/acme.atom").content)
    entry = next(e for e in feed.entries if e.link.endswith("2508.00001"))
    assert [a.name for a in entry.authors] == ["Ada Lovelace", "Alan Turing"]
    assert entry.tags[0].term == "acme"
    assert feed.feed.title == "Papers from Acme AI"


def test_feeds_follow_votes(catalog):
    client = TestClient(build_app(settings_for(catalog, rate_limit_scale=10), catalog, clock=lambda: NOW),
                        base_url="http://testserver")
    before = feedparser.parse(client.get("/feeds/daily.atom", params={"date": "2025-08-18", "sort": "upvotes"}).content)
    assert [e.link[-10:] for e in before.entries] == ["2508.00002", "2508.00001"]
    visitors = [Visitor(TestClient(client.app, base_url="http://testserver")) for _ in range(8)]
    for n, visitor in enumerate(visitors):
        visitor.sign_up(f"reader{n}")
        assert visitor.vote("2508.00001").status_code == 200
    after = feedparser.parse(client.get("/feeds/daily.atom", params={"date": "2025-08-18", "sort": "upvotes"}).content)
    assert [e.link[-10:] for e in after.entries] == ["2508.00001", "2508.00002"]  # 13 > 12


def test_bad_feed_requests(client):
    assert client.get("/feeds/daily.atom", params={"date": "soon"}).status_code == 400
    assert client.get("/feeds/organizations/nobody.rss").status_code == 404
    assert client.get("/feeds/search.atom").status_code == 400  # q is required
    assert client.get("/feeds/daily.json").status_code in (400, 404)


def test_feeds_build_with_characters_xml_forbids_in_stored_text_and_in_the_query(catalog, client):
    """Stored before ingest cleaned them (written here directly): a title, abstract, author and
    organisation name with C0 controls and U+FFFE/U+FFFF; and a query with NUL and controls."""
    from sqlalchemy import update

    from papertide.catalog.models import Organization, Paper

    with catalog.session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == "2508.00001").values(
            title="Sparse\x01 attention\ufffe for long context", abstract="Bad\x0b abstract\uffff.",
            authors=["Ada\x08 Lovelace", "Alan Turing"]))
        session.execute(update(Organization).where(Organization.slug == "acme").values(name="Acme\x1f AI\ufffe"))
    for path, params in [("/feeds/daily.{fmt}", {"date": "2025-08-18"}), ("/feeds/daily.{fmt}", {"month": "2025-08"}),
                         ("/feeds/trending.{fmt}", {}), ("/feeds/organizations/acme.{fmt}", {}),
                         ("/feeds/search.{fmt}", {"q": "sparse\x00 attention\x1b\ufffe"})]:
        for fmt in ("atom", "rss"):
            answer = client.get(path.format(fmt=fmt), params=params)
            assert answer.status_code == 200, (path, params, answer.text[:200])
            parsed = feedparser.parse(answer.content)
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))
            titles = [entry.title for entry in parsed.entries]
            assert "Sparse attention for long context" in titles, titles
