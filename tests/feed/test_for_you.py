"""The "For you" ranking on a real catalog slice: the newest 1,500 demo papers with their shipped
embeddings. About one in ten of the last two weeks' papers is about diffusion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from papertide.community import accounts, follows, votes
from papertide.feed.for_you import Candidate, Ranker, for_you
from papertide.feed.signals import Signals, reader_signals
from tests.feed.helpers import load_slice

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"


def about(row: dict, word: str) -> bool:
    return word in f"{row['title']} {row['abstract']}".lower()


def reader_who_upvoted(database, name: str, rows: list[dict], now) -> int:
    with database.session() as session:
        account = accounts.sign_up(session, name, PASSWORD)
        for row in rows:
            votes.set_vote(session, account.id, row["arxiv_id"], True, now=now)
    return account.id


@pytest.fixture
def catalog_slice(database):
    rows, now = load_slice(database, 1500)
    return database, rows, now


def test_five_diffusion_upvotes_bring_diffusion_papers_first_each_saying_why(catalog_slice):
    database, rows, now = catalog_slice
    older = rows[:1000]  # before the two weeks the feed ranks
    diffusion = [r for r in older if "diffusion" in r["title"].lower() and about(r, "diffusion")
                 and f"{r['title']} {r['abstract']}".lower().count("diffusion") >= 4][-5:]
    assert len(diffusion) == 5
    reader = reader_who_upvoted(database, "diffusion_fan", diffusion, now)

    with database.session() as session:
        page = for_you(session, reader, now=now, limit=10)
    by_id = {r["arxiv_id"]: r for r in rows}
    window = [by_id[i.item.paper.arxiv_id] for i in page.items]
    pool_share = sum(about(r, "diffusion") for r in rows[-page.considered:]) / page.considered
    assert page.ready and page.considered > 100 and pool_share < 0.2
    top = window[:5]
    assert sum(about(r, "diffusion") for r in top) >= 4, [r["title"] for r in top]
    assert about(top[0], "diffusion") and about(top[1], "diffusion")
    upvoted_titles = {r["title"] for r in diffusion}
    for pick in page.items:
        assert pick.reasons and pick.reasons[0].lead == "Because you upvoted"
        assert pick.reasons[0].subject in upvoted_titles

    # Another reader, five agent papers: a different list, nearly without diffusion.
    agents = [r for r in older if "agent" in r["title"].lower()][-5:]
    other = reader_who_upvoted(database, "agent_fan", agents, now)
    with database.session() as session:
        theirs = for_you(session, other, now=now, limit=10)
    their_top = [by_id[i.item.paper.arxiv_id] for i in theirs.items[:5]]
    assert sum(about(r, "agent") for r in their_top) >= 4
    assert sum(about(r, "diffusion") for r in their_top) <= 1


def test_following_an_author_lifts_their_new_paper_with_its_reason(catalog_slice):
    database, rows, now = catalog_slice
    newest = rows[-40:]
    target = min(newest, key=lambda r: r["upvotes"])  # a quiet paper the ranking would not favour
    author = target["authors"][-1]
    reader = reader_who_upvoted(database, "follower", rows[:3], now)
    with database.session() as session:
        before = [i.item.paper.arxiv_id for i in for_you(session, reader, now=now).items]
        follows.set_follow(session, reader, "author", author, True)
    with database.session() as session:
        after = for_you(session, reader, now=now).items
    ranked = [i.item.paper.arxiv_id for i in after]
    assert target["arxiv_id"] in ranked
    assert target["arxiv_id"] not in before or ranked.index(target["arxiv_id"]) < before.index(target["arxiv_id"])
    mine = after[ranked.index(target["arxiv_id"])]
    assert any(r.lead == "By an author you follow:" and r.subject == author for r in mine.reasons)


def test_the_ranking_weighs_recency_and_votes_only_among_equals(database):
    now = load_slice(database, 50)[1]
    old, new = now - timedelta(days=13), now - timedelta(hours=5)
    candidates = [Candidate(1, ("Ada Lovelace",), None, 0, old), Candidate(2, ("Ada Lovelace",), None, 0, new),
                  Candidate(3, ("Ada Lovelace",), None, 500, old), Candidate(4, ("Someone Else",), None, 900, new)]
    with database.session() as session:
        picks = Ranker(candidates, now).rank(session, Signals(authors={"ada lovelace": "Ada Lovelace"}))
    assert [p.paper_id for p in picks][:1] in ([2], [3]) and 4 not in [p.paper_id for p in picks]
    assert {p.paper_id for p in picks} == {1, 2, 3} and picks[-1].paper_id == 1


def test_signals_count_papers_once_and_follows(database):
    rows, now = load_slice(database, 20)
    with database.session() as session:
        account = accounts.sign_up(session, "counted", PASSWORD)
        votes.set_vote(session, account.id, rows[0]["arxiv_id"], True, now=now)
        follows.set_follow(session, account.id, "author", rows[1]["authors"][0], True)
    with database.session() as session:
        assert reader_signals(session, account.id).count == 2
