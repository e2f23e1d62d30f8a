"""The keyword side under a postings budget (keyword/fts5_budget.py): bounded work, BM25 kept.

The budget is made tiny here so that a few hundred papers behave like a million: common words
are over budget, and the two-phase path (rare phrases in FTS5, common ones added in Python)
is the one that runs.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import bindparam, text

from papertide.search import Filters, KeywordOptions
from papertide.search.keyword import fts5, fts5_budget
from papertide.search.keyword.terms import COLUMN_WEIGHTS, PAIR_WEIGHT, phrase_weight, query_bigrams, query_terms
from papertide.search.trace import capture, names

from .helpers import HOSTILE_QUERIES, add_papers, keyword_hits

pytestmark = pytest.mark.sqlite_only

COMMON = "model models modeling learning language training data results method performance".split()
RARE = "zyxoid quasar pelican fjord lantern".split()


def corpus(size=240, seed=7):
    rng = random.Random(seed)
    papers = []
    for i in range(size):
        words = rng.choices(COMMON, k=30) + (["capabilities", "fine-tuning"] if i % 3 == 0 else [])
        title = " ".join(rng.choices(COMMON, k=5)).capitalize()
        papers.append((f"2501.{i + 1:05d}", title, " ".join(words) + ".", [f"Author {i % 7}"], f"2025-01-{1 + i % 28:02d}", None))
    papers.append(("2502.00001", "Zyxoid quasar models", "A zyxoid quasar language model: training data, learning and fine-tuning capabilities.", ["Ada"], "2025-02-01", None))
    papers.append(("2502.00002", "Pelican fjord", "The pelican model of fjord data, studied with a lantern.", ["Bob"], "2025-02-02", None))
    return papers


def exact_scores(database, query):
    """Full BM25 of every matching paper, straight from FTS5: the plain OR query of the words,
    plus ``PAIR_WEIGHT`` times that of the adjacent pairs (BM25 is a sum over phrases)."""
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    scores: dict[int, float] = {}
    with database.session() as session:
        for phrases, weight in ((query_terms(query), 1.0), (query_bigrams(query), PAIR_WEIGHT)):
            if not phrases:
                continue
            rows = session.execute(
                text(f"SELECT rowid, -bm25(papers_fts, {weights}) FROM papers_fts WHERE papers_fts MATCH :m"),
                {"m": " OR ".join(f'"{p}"' for p in phrases)},
            ).all()
            for pid, score in rows:
                scores[pid] = scores.get(pid, 0.0) + weight * score
    return scores


def assert_the_full_ranking(found, exact):
    """``found`` is every paper of ``exact``, with its score, best first (up to float rounding:
    papers with equal scores may come in either order)."""
    assert {pid for pid, _ in found} == set(exact)
    assert [s for _, s in found] == pytest.approx(sorted(exact.values(), reverse=True), rel=1e-9)
    assert all(exact[pid] == pytest.approx(s, rel=1e-9) for pid, s in found)


class KeywordSide:
    """The keyword side with ``options``, remembering the steps its searches took (trace spans)."""

    def __init__(self, options: KeywordOptions = KeywordOptions(), refused: frozenset = frozenset()):
        self.options, self.refused, self.steps = options, refused, []

    def search(self, database, query, limit=10, **filters):
        with capture() as spans:
            found = keyword_hits(database, query, limit, Filters(**filters), self.options)
        self.steps += names(spans)
        assert not self.refused & set(names(spans)), f"a refused path ran: {names(spans)}"
        return found


def bounded(database, query, limit=10, **filters):
    return KeywordSide().search(database, query, limit, **filters)


@pytest.fixture
def tiny_budget(monkeypatch):
    """Every catalog is "big" and the budget one a few common words exceed, with no impact index:
    the two-phase path runs ("keyword.rescore" among the steps)."""
    monkeypatch.setattr(fts5_budget, "POSTINGS_BUDGET", 40)
    monkeypatch.setattr(fts5, "FREQUENT_FLOOR", 2)
    monkeypatch.setattr(fts5, "PAIR_SAMPLE", 10**9)  # pairs counted, not sampled
    return KeywordSide(KeywordOptions(impact_index=False, exact_below_papers=0))


QUERIES = [
    "zyxoid quasar language models with fine-tuning capabilities",
    "a pelican model of fjord data",
    "learning models from training data",  # every word over budget: the newest-papers path
]


@pytest.mark.parametrize("query", QUERIES)
def test_every_score_is_the_full_bm25_score(database, tiny_budget, query):
    add_papers(database, corpus())
    found = tiny_budget.search(database, query, limit=50)
    exact = exact_scores(database, query)
    assert "keyword.rescore" in tiny_budget.steps, "the two-phase path did not run"
    assert found
    for pid, score in found:
        assert score == pytest.approx(exact[pid], rel=1e-9, abs=1e-9)


def test_the_target_ranks_as_full_bm25_ranks_it(database, tiny_budget):
    add_papers(database, corpus())
    exact = exact_scores(database, QUERIES[0])
    best = sorted(exact, key=lambda pid: -exact[pid])[:2]
    assert [pid for pid, _ in tiny_budget.search(database, QUERIES[0])][:2] == best


def test_a_sampled_pair_frequency_is_close(database, tiny_budget, monkeypatch):
    add_papers(database, corpus())
    monkeypatch.setattr(fts5, "PAIR_SAMPLE", 100)  # about half the corpus
    with database.session() as session:
        stats = fts5.TermStatistics.read(session)
        pair = stats.phrase("language model")
        true = session.execute(text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH '\"language model\"'")).scalar_one()
        assert true > 20
        assert stats.df(session, pair) == pytest.approx(true, rel=0.35)


def test_small_corpora_take_the_plain_query(database):
    add_papers(database, corpus(size=30))
    side = KeywordSide()
    query = "zyxoid quasar language models"
    exact = exact_scores(database, query)
    assert_the_full_ranking(side.search(database, query, limit=100), exact)
    assert side.steps == ["keyword.fts5"]


def test_word_forms_are_counted_as_the_index_counts_them(database):
    """Python's count of each phrase in each paper gives the BM25 term FTS5 gives (times the
    phrase's weight: a pair counts ``PAIR_WEIGHT``)."""
    add_papers(database, [
        ("2503.00001", "Modeling capabilities", "Models model modeled capabilities capability studies study", ["Zoe"], "2025-03-01", None),
        ("2503.00002", "Fine-tuning, fine_tuning", "fine-tuned fine tuning Fine-Tuning; résumé resume efficient efficiency", ["Yan"], "2025-03-02", None),
        ("2503.00003", "Unrelated", "modern modal mode moderate", ["Xi"], "2025-03-03", None),
    ])
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    with database.session() as session:
        stats = fts5.TermStatistics.read(session)
        query = fts5.Fts5Query([], stats, fts5.read_corpus(session))
        for phrase in ["model", "capabilities", "study", "fine tuning", "resume", "efficient", "efficiency", "mode"]:
            mine = fts5.rescore(session, query, [1, 2, 3], [stats.phrase(phrase)])
            theirs = dict(session.execute(
                text(f"SELECT rowid, -bm25(papers_fts, {weights}) FROM papers_fts WHERE papers_fts MATCH :m"), {"m": f'"{phrase}"'}
            ).all())
            assert set(mine) == set(theirs), phrase
            for pid, score in theirs.items():
                assert mine[pid] == pytest.approx(score * phrase_weight(phrase), rel=1e-9), (phrase, pid)


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_input_is_still_plain_words(database, tiny_budget, query):
    add_papers(database, corpus(size=60))
    tiny_budget.search(database, query + " model learning")  # must not raise


def test_hidden_and_filtered_papers_stay_out(database, tiny_budget):
    add_papers(database, corpus())
    with database.session() as session:
        target = session.execute(text("SELECT id FROM papers WHERE arxiv_id = '2502.00001'")).scalar_one()
        session.execute(text("UPDATE papers SET hidden = :h WHERE id = :i"), {"h": True, "i": target})
    assert target not in [pid for pid, _ in tiny_budget.search(database, QUERIES[0], limit=100)]
    found = tiny_budget.search(database, QUERIES[1], limit=100, published_from=date(2025, 2, 1))
    with database.session() as session:
        dates = session.execute(
            text("SELECT published_at FROM papers WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": [pid for pid, _ in found]},
        ).scalars().all()
    assert found and all(str(d) >= "2025-02-01" for d in dates)


def test_below_the_size_threshold_even_common_words_get_exact_bm25(database, monkeypatch):
    """Like vector search, keyword search is exact below ``exact_below_papers``, whatever the budget."""
    add_papers(database, corpus(size=30))
    monkeypatch.setattr(fts5_budget, "POSTINGS_BUDGET", 1)
    small = KeywordSide()
    query = "zyxoid quasar language models"
    assert_the_full_ranking(small.search(database, query, limit=100), exact_scores(database, query))
    assert "keyword.rescore" not in small.steps
    big = KeywordSide(KeywordOptions(impact_index=False, exact_below_papers=0))
    big.search(database, query, limit=100)
    assert "keyword.rescore" in big.steps  # the same query, treated as a big catalog, takes the budgeted path
