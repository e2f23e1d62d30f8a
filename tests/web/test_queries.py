"""The read models behind the pages, API and feeds, on a real SQLite database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from papertide import feed
from papertide.catalog import versions
from papertide.catalog.organizations import list_organizations
from papertide.community import accounts, moderation, votes
from papertide.community.models import Vote
from papertide.search import search_papers, similar_papers
from tests.catalog.helpers import MON, NOW, THU, TUE, make_record, seed


def test_default_period_is_the_newest_day_with_papers(catalog):
    with catalog.session() as session:
        page = feed.daily_feed(session, now=NOW + timedelta(days=3))  # Sunday: nothing submitted since Thursday
    assert page.period.kind == "day" and page.period.start == THU
    assert {i.paper.arxiv_id for i in page.items} == {"2508.00004", "2508.00005", "2508.00006"}
    assert page.prev.start == TUE and page.next is None  # Wednesday is skipped: it has no papers


def test_day_navigation_skips_empty_days_both_ways(catalog):
    with catalog.session() as session:
        page = feed.daily_feed(session, day="2025-08-19", now=NOW)
    assert [i.paper.arxiv_id for i in page.items] == ["2508.00003"]
    assert page.prev.key == "2025-08-18" and page.next.key == "2025-08-21"
    assert page.prev.query == {"date": "2025-08-18"}


def test_week_and_month_periods(catalog):
    with catalog.session() as session:
        week = feed.daily_feed(session, week="2025-W34", sort="upvotes", now=NOW)
        month = feed.daily_feed(session, month="2025-08", sort="upvotes", now=NOW)
        empty_week = feed.daily_feed(session, week="2025-W33", now=NOW)
    assert week.period.start == MON and week.period.end == date(2025, 8, 25) and week.period.key == "2025-W34"
    assert [i.upvotes for i in week.items] == [40, 12, 8, 5, 3, 0]
    assert month.total == 6 and month.period.label == "August 2025"
    assert empty_week.items == [] and empty_week.next.key == "2025-W34" and empty_week.prev is None


@pytest.mark.parametrize("kwargs", [{"day": "2025-13-01"}, {"week": "2025-W60"}, {"month": "2025-8-1"},
                                    {"day": "2025-08-01", "week": "2025-W31"}, {"sort": "random"}, {"page": -1}])
def test_malformed_queries_raise_a_clear_error(catalog, kwargs):
    with catalog.session() as session, pytest.raises(feed.InvalidQuery):
        feed.daily_feed(session, now=NOW, **kwargs)


def test_sorts(catalog):
    with catalog.session() as session:
        by = {s: [i.paper.arxiv_id for i in feed.daily_feed(session, day=THU, sort=s, now=NOW).items]
              for s in ("trending", "upvotes", "newest", "publishedAt")}
    assert by["upvotes"] == ["2508.00004", "2508.00005", "2508.00006"]
    assert by["newest"] == ["2508.00005", "2508.00006", "2508.00004"]  # by arXiv publication time
    assert by["publishedAt"] == by["newest"]
    # 8 votes in the last hour beat 40 over eight hours: (8 / 3^1.5) > (40 / 10^1.5)
    assert by["trending"] == ["2508.00005", "2508.00004", "2508.00006"]


def test_trending_prefers_fresh_votes_to_old_ones(database):
    now = datetime(2025, 8, 21, 12, tzinfo=timezone.utc)
    seed(database, [make_record("2508.10001", "Old and popular", day=date(2025, 8, 15), upvotes=30),
                    make_record("2508.10002", "New and rising", day=date(2025, 8, 21), upvotes=10, hour=6)])
    with database.session() as session:
        items = feed.trending(session, now, days=7)
    assert [i.paper.arxiv_id for i in items] == ["2508.10002", "2508.10001"]
    assert items[0].score > items[1].score > 0


def test_trending_falls_back_to_the_newest_week_with_papers(catalog):
    with catalog.session() as session:
        items = feed.trending(session, NOW + timedelta(days=60), days=7)
    assert {i.paper.arxiv_id for i in items} == {f"2508.0000{n}" for n in range(1, 7)}


def test_pagination(catalog):
    with catalog.session() as session:
        first = feed.daily_feed(session, month="2025-08", sort="upvotes", now=NOW, limit=4)
        second = feed.daily_feed(session, month="2025-08", sort="upvotes", now=NOW, limit=4, page=1)
    assert len(first.items) == 4 and first.has_more
    assert len(second.items) == 2 and not second.has_more
    assert not {i.paper.id for i in first.items} & {i.paper.id for i in second.items}


def test_hidden_papers_leave_every_list(catalog):
    with catalog.session() as session:
        admin = accounts.sign_up(session, "moderator", "a long password", is_admin=True)
        moderation.hide_paper(session, admin.id, "2508.00004", "spam")
    with catalog.session() as session:
        assert "2508.00004" not in {i.paper.arxiv_id for i in feed.daily_feed(session, day=THU, now=NOW).items}
        assert "2508.00004" not in {i.paper.arxiv_id for i in feed.trending(session, NOW)}
        assert search_papers(catalog, "reinforcement") == []
        assert feed.get_paper_detail(session, "2508.00004") is None
        assert feed.get_paper_detail(session, "2508.00004", include_hidden=True).paper.hidden


def test_paper_detail_accepts_versions_and_urls_and_has_bibtex(catalog):
    with catalog.session() as session:
        detail = feed.get_paper_detail(session, "https://arxiv.org/abs/2508.00003v2", now=NOW)
        assert feed.get_paper_detail(session, "not-an-id") is None
        assert feed.get_paper_detail(session, "2501.99999") is None
    assert detail.paper.arxiv_id == "2508.00003"
    assert detail.item.organization.slug == "acme" and detail.item.submitted_by == "someone"
    assert detail.bibtex.startswith("@misc{turing2025vision,") or detail.bibtex.startswith("@misc{lovelace2025vision,")
    assert "eprint={2508.00003}" in detail.bibtex and "author={Ada Lovelace and Alan Turing}" in detail.bibtex


def test_organization_page(catalog):
    with catalog.session() as session:
        page = feed.organization_page(session, "acme", sort="upvotes", now=NOW)
        assert feed.organization_page(session, "nobody", now=NOW) is None
        orgs = list_organizations(session)
    assert page.organization.name == "Acme AI"
    assert [i.paper.arxiv_id for i in page.items] == ["2508.00001", "2508.00003", "2508.00007"]  # incl. off-list paper
    assert page.total_upvotes == 9
    assert [(o.slug, n) for o, n in orgs] == [("acme", 3)]


def test_votes_over_time_starts_from_the_imported_count(catalog):
    with catalog.session() as session:
        users = [accounts.sign_up(session, f"reader{n}", "a long password") for n in range(3)]
        for user in users:
            votes.toggle_vote(session, user.id, "2508.00003")
        paper_id = feed.get_paper_item(session, "2508.00003").paper.id
        # Cast on Tuesday, Tuesday and Friday.
        for user, when in zip(users, [TUE, TUE, TUE + timedelta(days=3)]):
            session.execute(update(Vote).where(Vote.user_id == user.id).values(
                created_at=datetime.combine(when, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=10)))
    with catalog.session() as session:
        points = feed.votes_over_time(session, paper_id, now=NOW + timedelta(days=2))
    assert [(p.day, p.votes, p.total) for p in points] == [
        (TUE, 2, 5), (TUE + timedelta(days=1), 0, 5), (TUE + timedelta(days=2), 0, 5), (TUE + timedelta(days=3), 1, 6),
        (TUE + timedelta(days=4), 0, 6),  # the chart runs up to today
    ]


def test_search_papers_through_the_search_service(catalog):
    hits = [h.arxiv_id for h in search_papers(catalog, "sparse attention")]
    by_id = [h.arxiv_id for h in search_papers(catalog, "arXiv:2508.00002v1")]
    by_author = search_papers(catalog, "lovelace", limit=3)
    filtered = [h.arxiv_id for h in search_papers(catalog, "attention", organization="acme")]
    dated = [h.arxiv_id for h in search_papers(catalog, "attention", published_from=TUE)]
    until_monday = {h.arxiv_id for h in search_papers(catalog, "attention", published_until=TUE - timedelta(days=1))}
    until_tuesday = {h.arxiv_id for h in search_papers(catalog, "attention", published_until=TUE)}
    assert set(hits[:2]) == {"2508.00001", "2508.00007"}  # both words first, one word after
    assert "2508.00006" in hits[2:]
    assert by_id == ["2508.00002"]
    assert len(by_author) == 3
    assert set(filtered) == {"2508.00001", "2508.00007"}
    assert dated == ["2508.00006"]  # the only one published since Tuesday
    assert until_monday and "2508.00006" not in until_monday and "2508.00006" in until_tuesday  # (published Tuesday 00:00)


def test_similar_papers_exclude_the_paper_itself(catalog):
    similar = [h.arxiv_id for h in similar_papers(catalog, "2508.00001")]
    assert similar and "2508.00001" not in similar
    assert similar[0] == "2508.00007"  # the other paper on sparse attention


def test_content_version_moves_with_votes(catalog):
    with catalog.session() as session:
        user = accounts.sign_up(session, "reader", "a long password")
        paper_id = feed.get_paper_item(session, "2508.00001").paper.id
        before, paper_before = versions.content_version(session), versions.paper_version(session, paper_id)
        votes.toggle_vote(session, user.id, "2508.00001")
    with catalog.session() as session:
        assert versions.content_version(session) == before + 1
        assert versions.paper_version(session, paper_id) == paper_before + 1


def test_version_reader_sees_each_committed_bump(catalog):
    read = versions.reader(catalog.engine)
    start = read()
    assert start == 1  # the catalog's ingest bumped it once
    for expected in (start + 1, start + 2):
        with catalog.session() as session:
            versions.bump(session, versions.CATALOG)
        assert read() == expected
    assert versions.reader(catalog.engine, "paper:999")() == 0  # a key never bumped
