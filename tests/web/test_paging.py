"""Paging the daily list both ways, counts that say which papers a page holds, weeks read as
dates, and pickers for weeks and months (issue 17, point 7)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from papertide import feed
from tests.catalog.helpers import NOW, make_record, seed
from tests.web.helpers import build_app, settings_for

WEEK_11 = date(2025, 3, 10)  # Monday 10 March 2025


@pytest.fixture
def client(database):
    """120 papers in the week of 10–16 March 2025, a few in two other weeks and another month."""
    records = [make_record(f"2503.{n:05d}", f"Paper number {n}", day=WEEK_11 + timedelta(days=n % 7), upvotes=n)
               for n in range(120)]
    records += [make_record("2502.00001", "A February paper", day=date(2025, 2, 26)),
                make_record("2503.90001", "A later March paper", day=date(2025, 3, 31))]
    seed(database, records)
    with TestClient(build_app(settings_for(database), database, clock=lambda: NOW)) as test_client:
        yield test_client


def cards(html: str) -> list[str]:
    return re.findall(r'data-testid="paper-card" data-arxiv-id="([^"]+)"', html)


def count_note(html: str) -> str:
    return re.search(r'data-testid="count-note">([^<]*)<', html)[1]


def link(html: str, testid: str) -> str | None:
    found = re.search(rf'<a class="btn" href="([^"]+)" data-testid="{testid}"', html)
    return found[1].replace("&amp;", "&") if found else None


def test_pages_go_both_ways_and_say_which_papers_they_hold(client):
    first = client.get("/?week=2025-W11&sort=upvotes").text
    assert count_note(first) == "Papers 1–100 of 120"
    assert link(first, "prev-page") is None and link(first, "next-page") == "/?week=2025-W11&sort=upvotes&p=1"
    assert "Page 1 of 2" in first

    second = client.get(link(first, "next-page")).text
    assert count_note(second) == "Papers 101–120 of 120"
    assert link(second, "next-page") is None and link(second, "prev-page") == "/?week=2025-W11&sort=upvotes"
    assert "Page 2 of 2" in second
    assert set(cards(first)).isdisjoint(cards(second)) and len(cards(first) + cards(second)) == 120

    back = client.get(link(second, "prev-page")).text
    assert cards(back) == cards(first)


def test_a_page_past_the_end_says_so_and_leads_back(client):
    page = client.get("/?week=2025-W11&p=7", headers={"accept": "text/html"})
    assert page.status_code == 200 and cards(page.text) == []
    assert "No papers on page 8: there are 120" in page.text and 'href="/?week=2025-W11&amp;p=1"' in page.text


def test_a_single_page_counts_its_papers(client):
    assert count_note(client.get("/?date=2025-03-31").text) == "1 paper"
    assert 'data-testid="next-page"' not in client.get("/?date=2025-03-10").text


def test_a_week_reads_as_its_dates_and_has_a_picker_of_weeks_with_papers(client):
    page = client.get("/?week=2025-W11").text
    assert re.search(r'data-testid="feed-heading">10–16 Mar 2025<', page)
    assert "2025-W11<" not in page  # the key stays in URLs, out of sight
    picker = re.search(r'<select id="pick-period" name="week".*?</select>', page, re.S)[0]
    options = re.findall(r'<option value="([^"]+)" ?(selected)?>([^<]+)</option>', picker)
    assert options == [("2025-W14", "", "31 Mar – 6 Apr 2025"), ("2025-W11", "selected", "10–16 Mar 2025"),
                       ("2025-W09", "", "24 Feb – 2 Mar 2025")]


def test_a_week_without_papers_is_still_the_one_the_picker_shows(client):
    page = client.get("/?week=2025-W12").text
    picker = re.search(r'<select id="pick-period" name="week".*?</select>', page, re.S)[0]
    assert re.findall(r'<option value="([^"]+)" ?(selected)?', picker) == [
        ("2025-W14", ""), ("2025-W12", "selected"), ("2025-W11", ""), ("2025-W09", "")]


def test_a_month_has_a_picker_of_months_with_papers(client):
    page = client.get("/?month=2025-03&sort=newest").text
    picker = re.search(r'<form class="current".*?</form>', page, re.S)[0]
    assert re.findall(r'<option value="([^"]+)"', picker) == ["2025-03", "2025-02"]
    assert '<input type="hidden" name="sort" value="newest">' in picker  # the sort survives a move


def test_date_spans_are_said_briefly_and_unambiguously():
    assert feed.date_span(date(2025, 3, 10), date(2025, 3, 16)) == "10–16 Mar 2025"
    assert feed.date_span(date(2025, 2, 24), date(2025, 3, 2)) == "24 Feb – 2 Mar 2025"
    assert feed.date_span(date(2025, 12, 29), date(2026, 1, 4)) == "29 Dec 2025 – 4 Jan 2026"
    assert feed.date_span(date(2026, 12, 7), date(2026, 12, 7)) == "7 Dec 2026"
    assert feed.week_period(date(2025, 3, 12)).label == "10–16 Mar 2025"
