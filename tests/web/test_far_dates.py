"""A paper dated at the end of the calendar, and periods asked for there.

Ingest rejects such dates now, but a row stored before that (or written by hand) must not take
the site down: the read side does no date arithmetic that can overflow, and a period or search
date outside the range it serves is a 400 with a message saying what is expected.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import update

from papertide.catalog.models import DailyEntry, Paper

HTML = {"accept": "text/html"}
FAR_DAY = date(9999, 12, 31)


@pytest.fixture
def far_paper(catalog):
    """2508.00002 moved to the daily list of 9999-12-31, as a stored row (ingest would refuse it)."""
    with catalog.session() as session:
        paper_id = session.scalar(Paper.__table__.select().with_only_columns(Paper.id).where(Paper.arxiv_id == "2508.00002"))
        session.execute(update(DailyEntry).where(DailyEntry.paper_id == paper_id).values(
            daily_date=FAR_DAY, submitted_at=datetime(9999, 12, 31, 23, 0, tzinfo=timezone.utc)))
        session.execute(update(Paper).where(Paper.id == paper_id).values(
            published_at=datetime(9999, 12, 31, 12, 0, tzinfo=timezone.utc)))
    return "2508.00002"


@pytest.mark.parametrize("path", [
    "/", "/?date=2025-08-21", "/?date=2025-08-18", "/?week=2025-W34", "/?month=2025-08", "/trending",
    "/api/daily_papers", "/api/daily_papers?date=2025-08-21", "/api/daily_papers?week=2025-W34",
    "/api/daily_papers?month=2025-08", "/api/trending", "/papers/2508.00002", "/api/papers/2508.00002",
    "/api/papers/2508.00002/votes", "/feeds/daily.atom", "/feeds/daily.rss?month=2025-08", "/feeds/trending.atom",
    "/search?q=protein", "/api/papers/search?q=protein",
])
def test_a_paper_dated_9999_12_31_takes_nothing_down(client, far_paper, path):
    answer = client.get(path, headers=HTML)
    assert answer.status_code == 200, answer.text[:300]


def test_the_neighbours_of_the_newest_day_skip_a_date_no_page_can_show(client, far_paper):
    page = client.get("/api/daily_papers", params={"date": "2025-08-21"})
    assert page.status_code == 200
    html = client.get("/?date=2025-08-21", headers=HTML).text
    assert "9999" not in html  # no "next" link to a day that would answer 400


def test_the_votes_chart_of_a_far_paper_is_bounded(client, far_paper):
    points = client.get("/api/papers/2508.00002/votes").json()["points"]
    assert 1 <= len(points) <= 367
    assert points[-1]["date"] == "9999-12-31"


@pytest.mark.parametrize("query", [
    {"date": "9999-12-31"}, {"week": "9999-W52"}, {"month": "9999-12"}, {"date": "0001-01-01"}, {"week": "0001-W01"},
    {"month": "1899-12"},
])
def test_periods_outside_the_served_range_are_a_clear_400(client, query):
    for path in ("/", "/api/daily_papers", "/feeds/daily.atom"):
        answer = client.get(path, params=query, headers=HTML)
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        assert "1900" in answer.text and "2999" in answer.text, answer.text[:300]


@pytest.mark.parametrize("params", [{"date_to": "9999-12-31"}, {"date_from": "9999-12-31"}, {"date_from": "0001-01-01"}])
def test_search_dates_outside_the_served_range_are_a_clear_400(client, params):
    for path in ("/search", "/api/papers/search"):
        answer = client.get(path, params={"q": "attention", **params}, headers=HTML)
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        assert "1900" in answer.text and "2999" in answer.text
