"""The HTML pages, in-process: what each shows, how they navigate, that they escape, stay
cacheable for anonymous readers, and obey the CSP (no inline script, handler or style)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from papertide.catalog.upsert import upsert_papers
from tests.catalog.helpers import NOW, THU, make_record
from tests.web.helpers import Visitor, build_app, settings_for

HTML = {"accept": "text/html"}


def card_ids(html: str) -> list[str]:
    return re.findall(r'data-testid="paper-card" data-arxiv-id="([^"]+)"', html)


def test_the_front_page_is_the_newest_day_sorted_by_trending(client):
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert "Thursday, August 21, 2025" in page.text
    assert card_ids(page.text) == ["2508.00005", "2508.00004", "2508.00006"]  # fresh votes beat old ones
    assert 'href="/?date=2025-08-19"' in page.text  # previous day with papers (Wednesday had none)
    assert 'rel="next"' not in page.text


def test_sorts_periods_and_navigation(client):
    by_votes = client.get("/?date=2025-08-21&sort=upvotes").text
    assert card_ids(by_votes) == ["2508.00004", "2508.00005", "2508.00006"]
    newest = client.get("/?date=2025-08-21&sort=newest").text
    assert card_ids(newest) == ["2508.00005", "2508.00006", "2508.00004"]
    week = client.get("/?week=2025-W34").text
    assert "18–24 Aug 2025" in week and len(card_ids(week)) == 6
    month = client.get("/?month=2025-08&sort=upvotes").text
    assert card_ids(month)[0] == "2508.00004"
    monday = client.get("/?date=2025-08-18").text
    assert 'href="/?date=2025-08-19"' in monday and "rel=\"prev\"" not in monday


def test_malformed_and_unknown_addresses_get_a_clear_page(client):
    bad = client.get("/?date=2025-13-45", headers=HTML)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    assert client.get("/?sort=sideways", headers=HTML).status_code == 400
    assert client.get("/papers/2501.99999", headers=HTML).status_code == 404
    assert client.get("/orgs/nobody", headers=HTML).status_code == 404
    assert client.get("/no/such/page", headers=HTML).status_code == 404


def test_paper_page_shows_links_chart_similar_and_bibtex(client):
    page = client.get("/papers/2508.00003").text
    assert "Vision transformers at scale" in page
    assert 'href="https://arxiv.org/pdf/2508.00003"' in page and 'href="https://github.com/acme/vit"' in page
    assert 'href="/orgs/acme"' in page
    assert "@misc{" in page and "eprint={2508.00003}" in page
    assert 'class="chart chart-line"' in page
    assert client.get("/papers/arXiv:2508.00003v2", follow_redirects=False).headers["location"] == "/papers/2508.00003"


def test_search_organisation_and_trending_pages(client):
    results = client.get("/search?q=attention").text
    assert set(card_ids(results)) == {"2508.00001", "2508.00006", "2508.00007"}
    only_acme = client.get("/search?q=attention&org=acme").text
    assert set(card_ids(only_acme)) == {"2508.00001", "2508.00007"}
    assert client.get("/search?q=2508.00002&go=1", follow_redirects=False).headers["location"] == "/papers/2508.00002"
    org = client.get("/orgs/acme").text
    assert "Acme AI" in org and len(card_ids(org)) == 3
    trending = client.get("/trending").text
    assert card_ids(trending)[0] == "2508.00005" and 'class="bar-list"' in trending


def test_an_empty_catalog_shows_an_empty_state(database):
    with TestClient(build_app(settings_for(database), database, clock=lambda: NOW)) as client:
        for path in ("/", "/trending", "/search?q=anything"):
            page = client.get(path)
            assert page.status_code == 200 and 'data-testid="empty"' in page.text, path


def test_hostile_text_is_escaped_everywhere(catalog, client):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with catalog.session() as session:
        # Titles with markup are refused at ingest; authors and organisation names are not.
        upsert_papers(session, [make_record("2508.00099", 'Less < more & "quotes" script', day=THU, upvotes=1,
                                            authors=[hostile], org=("evil", hostile))])
    for path in ("/", "/papers/2508.00099", "/search?q=script", "/orgs/evil", f"/search?q={hostile}"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;" in page, path
    assert "Less &lt; more &amp; &#34;quotes&#34;" in client.get("/papers/2508.00099").text


@pytest.mark.parametrize("path", ["/", "/?week=2025-W34", "/trending", "/papers/2508.00001", "/search?q=sparse",
                                  "/orgs/acme", "/orgs", "/login", "/signup"])
def test_pages_obey_the_content_security_policy(client, path):
    page = client.get(path).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script"
    assert not re.search(r"\sstyle=", page), "inline style attribute"
    assert not re.search(r"<style", page), "style element"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"


def test_anonymous_pages_set_no_cookie_and_are_served_from_the_cache(client):
    first, second = client.get("/papers/2508.00001"), client.get("/papers/2508.00001")
    assert "set-cookie" not in first.headers and "csrf" not in first.text.lower()
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert "script-src 'self'" in second.headers["content-security-policy"]


def test_a_vote_through_another_client_invalidates_cached_pages(app, client):
    def upvotes() -> int:
        page = client.get("/?date=2025-08-21")
        match = re.search(r'data-testid="votes-2508.00005" data-count="(\d+)"', page.text)
        return int(match[1]), page.headers["x-cache"]

    assert upvotes() == (8, "miss")
    assert upvotes() == (8, "hit")
    with TestClient(app, base_url="http://testserver") as other:
        voter = Visitor(other)
        voter.sign_up("voter")
        assert voter.vote("2508.00005").json()["upvotes"] == 9
        # The voter's own pages are personal: rendered fresh, with the token for htmx.
        own = other.get("/?date=2025-08-21")
        assert "x-cache" not in own.headers and 'hx-headers=' in own.text and 'aria-pressed="true"' in own.text
    assert upvotes() == (9, "miss")


def test_favicon_robots_and_a_server_error_page(catalog):
    from fastapi import APIRouter

    app = build_app(settings_for(catalog), catalog, clock=lambda: NOW)
    broken = APIRouter()

    @broken.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/favicon.ico", follow_redirects=False).headers["location"].startswith("/static/img/favicon.svg")
        assert "Disallow: /admin" in client.get("/robots.txt").text
        page = client.get("/boom", headers=HTML)
        assert page.status_code == 500 and "Something went wrong" in page.text and "a bug" not in page.text
