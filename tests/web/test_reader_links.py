"""The ways in and back: the organisations directory and the feeds are linked, a merged
organisation's address still works, /docs documents the API only and leads back, and an upvote
sent without JavaScript returns to the list it came from (issue 17, points 11 and 13)."""

from __future__ import annotations

import re

import feedparser

from papertide.catalog.upsert import upsert_papers
from tests.catalog.helpers import make_record
from tests.web.helpers import Visitor

HTML = {"accept": "text/html"}


def alternates(html: str) -> dict[str, str]:
    """type -> href of the feeds a page's head announces (beyond the site-wide daily one)."""
    head = html.split("</head>", 1)[0]
    found = re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">', head)
    return {kind: href.replace("&amp;", "&") for kind, href in found if href != "/feeds/daily.rss"}


def test_the_directory_is_linked_from_the_header_and_the_footer(client):
    page = client.get("/papers/2508.00001").text
    header, footer = page.split("</header>", 1)[0], page.split('<footer class="site">', 1)[1]
    assert 'href="/orgs"' in header and 'href="/orgs"' in footer
    assert client.get("/orgs").status_code == 200


def test_an_id_merged_into_an_organisation_leads_to_it(catalog, client):
    with catalog.session() as session:  # Acme under another id and another spelling of its name
        upsert_papers(session, [make_record("2508.00050", "Acme again", day=None, org=("acme-ai", "ACME ai"))])
    for slug in ("acme-ai", "ACME"):
        moved = client.get(f"/orgs/{slug}?sort=upvotes", follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"] == "/orgs/acme?sort=upvotes"
    assert "Acme again" in client.get("/orgs/acme").text
    assert client.get("/orgs").text.count('href="/orgs/acme') == 1


def test_organisation_trending_and_search_feeds_are_announced_and_linked(client):
    expected = {
        "/orgs/acme": "/feeds/organizations/acme",
        "/trending": "/feeds/trending",
        "/search?q=sparse attention": "/feeds/search",
    }
    for path, feed in expected.items():
        page = client.get(path).text
        links = alternates(page)
        assert links["application/rss+xml"].startswith(f"{feed}.rss") and links["application/atom+xml"].startswith(f"{feed}.atom")
        visible = re.search(r'data-testid="feed-links">(.*?)</div>', page, re.S)[1]
        assert f'href="{feed}.rss' in visible and f'href="{feed}.atom' in visible, path
        document = feedparser.parse(client.get(links["application/atom+xml"]).content)
        assert not document.bozo and document.entries, path
    assert alternates(client.get("/search?q=sparse attention").text)["application/rss+xml"] == "/feeds/search.rss?q=sparse+attention"
    assert alternates(client.get("/search").text) == {}  # no query, no feed
    # The organisation's feed points readers back at the organisation's page.
    document = feedparser.parse(client.get("/feeds/organizations/acme.atom").content)
    assert document.feed.link == "http://testserver/orgs/acme"


def test_the_api_reference_lists_the_api_only_and_leads_back(client):
    paths = client.get("/openapi.json").json()["paths"]
    markdown = "/papers/{arxiv_id}.md"  # Hugging Face's read_paper asks for it there
    assert paths and all(path.startswith(("/api/", "/feeds/")) or path == markdown for path in paths), sorted(paths)
    assert "/api/daily_papers" in paths and "/feeds/trending.{fmt}" in paths
    docs = client.get("/docs").text
    assert re.search(r'<a class="docs-home" href="/" data-testid="back-to-site">', docs)
    assert client.get("/docs/assets/docs.css").headers["content-type"].startswith("text/css")


def test_an_upvote_without_javascript_returns_to_the_list(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    listing = client.get("/?date=2025-08-18&sort=upvotes").text
    form = re.search(r'<form class="vote-form" action="/papers/2508.00001/vote".*?</form>', listing, re.S)[0]
    assert '<input type="hidden" name="next" value="/?date=2025-08-18&amp;sort=upvotes">' in form

    # The form's own next, as a browser without JavaScript posts it.
    back = visitor.post("/papers/2508.00001/vote", {"next": "/?date=2025-08-18&sort=upvotes"}, json_api=False,
                        follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/?date=2025-08-18&sort=upvotes#paper-2508.00001"

    # No next (an older page's form): the Referer, when it is this site's.
    here = visitor.post("/papers/2508.00001/vote", json_api=False, follow_redirects=False,
                        headers={"referer": "http://testserver/orgs/acme?sort=upvotes"})
    assert here.headers["location"] == "/orgs/acme?sort=upvotes#paper-2508.00001"
    elsewhere = visitor.post("/papers/2508.00001/vote", json_api=False, follow_redirects=False,
                             headers={"referer": "https://elsewhere.example/?date=2025-08-18"})
    assert elsewhere.headers["location"] == "/papers/2508.00001"
    hostile = visitor.post("/papers/2508.00001/vote", {"next": "//evil.example/"}, json_api=False, follow_redirects=False)
    assert hostile.headers["location"] == "/papers/2508.00001"

    # On the paper's own page the vote stays there, without an anchor.
    page = visitor.post("/papers/2508.00001/vote", {"next": "/papers/2508.00001"}, json_api=False, follow_redirects=False)
    assert page.headers["location"] == "/papers/2508.00001"


def test_an_anonymous_upvote_logs_in_and_returns_to_the_list(client):
    listing = client.get("/?date=2025-08-18").text
    assert 'href="/login?next=/%3Fdate%3D2025-08-18"' in listing
