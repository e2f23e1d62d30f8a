"""Hostile text in titles, abstracts, authors, organisations, comments, usernames and search
queries comes back as text: escaped in HTML, never an element or an event handler; feeds and the
API carry it as data."""

from __future__ import annotations

from html.parser import HTMLParser

import feedparser
import pytest

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from tests.catalog.helpers import MON, make_record, seed
from tests.web.helpers import Visitor

SCRIPT = '<script>alert("x")</script>'
IMG = '<img src=x onerror=alert(1)>'
SVG = '"><svg onload=alert(2)>'
# A title that passes ingest validation (no HTML element, no attribute) but is still markup if unescaped.
VALID_HOSTILE_TITLE = 'Reasoning with <think> tokens & "quotes" </think>'


class Page(HTMLParser):
    """What a browser would build: elements with attributes, and the visible text."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_safe_page(html: str, *payloads: str) -> Page:
    page = Page(html)
    for tag, attrs in page.elements:
        assert tag not in ("iframe", "object", "embed", "img", "think"), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs  # no inline script at all
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)
    text = "".join(page.text)
    for payload in payloads:
        assert payload in text, f"{payload!r} should be shown as text"
    return page


@pytest.fixture
def hostile(catalog):
    """One paper that passed validation, and one that a broken source slipped past it."""
    seed(catalog, [make_record("2508.30001", VALID_HOSTILE_TITLE, day=MON, upvotes=99, org=("acme", "Acme AI"))])
    slipped = PaperRecord.model_construct(
        arxiv_id="2508.30002", version=1, title=SCRIPT, abstract=IMG, authors=[SVG, "Ada"], published_at=None,
        updated_at=None, categories=[], primary_category=None, comment=None, journal_ref=None, doi=None,
        github_repo=None, github_stars=None, project_page=None, organization=None, ai_summary=None,
        ai_keywords=None, upvotes=98, num_comments=0,
        daily=make_record("2508.30002", "x", day=MON).daily,
    )
    with catalog.session() as session:
        upsert_papers(session, [slipped])
    return catalog


@pytest.mark.parametrize("path", ["/?date=2025-08-18", "/?date=2025-08-18&sort=upvotes", "/?week=2025-W34", "/trending",
                                  "/papers/2508.30001", "/papers/2508.30002", "/orgs/acme", "/search?q=reasoning",
                                  "/search?q=alert"])
def test_hostile_catalog_text_is_escaped_on_every_page(client, hostile, path):
    answer = client.get(path)
    assert answer.status_code == 200
    assert "<script>alert" not in answer.text and "<img src=x" not in answer.text and "<think>" not in answer.text
    assert_safe_page(answer.text)


def test_hostile_titles_are_shown_as_their_text(client, hostile):
    assert_safe_page(client.get("/papers/2508.30001").text, VALID_HOSTILE_TITLE)
    assert_safe_page(client.get("/papers/2508.30002").text, SCRIPT, IMG, SVG)


def test_search_queries_are_escaped(client):
    for query in (SCRIPT, IMG, SVG):
        answer = client.get("/search", params={"q": query})
        assert answer.status_code == 200 and "<script>alert" not in answer.text
        assert_safe_page(answer.text, query)
    injected = client.get("/search", params={"q": "{{ 12345*3 }}"}).text
    assert "{{ 12345*3 }}" in "".join(Page(injected).text) and "37035" not in injected  # no template injection


def test_comments_with_payloads_are_inert(client, hostile):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    payloads = [SCRIPT, IMG, SVG, "[x](javascript:alert(1))", '<a href="javascript:alert(1)">x</a>']
    for payload in payloads:
        assert visitor.post("/papers/2508.30001/comments", {"body": payload}).status_code == 201
    html = client.get("/papers/2508.30001").text
    page = assert_safe_page(html, SCRIPT, IMG)
    assert not any(tag == "a" and "javascript" in (attrs.get("href") or "") for tag, attrs in page.elements)
    fragment = visitor.post("/papers/2508.30001/comments", {"body": SVG}, json_api=False, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert_safe_page(fragment.text, SVG)


def test_hostile_usernames_are_refused_and_the_refusal_is_escaped(client):
    visitor = Visitor(client)
    refused = visitor.post("/signup", {"username": IMG, "password": "a long password"}, json_api=False)
    assert refused.status_code == 400 and refused.url.path == "/signup"  # the form again, with the message
    assert_safe_page(refused.text)
    assert 'value="&lt;img src=x' in refused.text  # what was typed is kept, as text
    assert "<img src=x" not in refused.text


def test_feeds_and_api_carry_hostile_text_as_data(client, hostile):
    feed = feedparser.parse(client.get("/feeds/daily.atom", params={"date": "2025-08-18"}).content)
    assert not feed.bozo
    titles = {e.link[-10:]: e.title for e in feed.entries}
    assert titles["2508.30002"] == SCRIPT and titles["2508.30001"] == VALID_HOSTILE_TITLE
    raw = client.get("/feeds/daily.rss", params={"date": "2025-08-18"}).text
    assert "<script>" not in raw
    item = client.get("/api/papers/2508.30002").json()
    assert item["title"] == SCRIPT and item["authors"][0]["name"] == SVG
    assert client.get("/api/papers/2508.30002").headers["content-type"] == "application/json"
