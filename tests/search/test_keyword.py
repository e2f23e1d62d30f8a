"""The keyword side: FTS5 kept in sync by triggers, and user text that never becomes FTS5 syntax."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from papertide.catalog.upsert import upsert_papers
from papertide.search import Filters
from papertide.search.keyword import postgres as keyword_postgres
from papertide.search.keyword.fts5 import match_any
from papertide.search.keyword.terms import query_phrases, query_terms

from .helpers import HOSTILE_QUERIES, PAPERS, add_papers, keyword_hits, record


def ids(database, query, **filters):
    return [pid for pid, _ in keyword_hits(database, query, 10, Filters(**filters))]


def match_expression(query):
    """The plain FTS5 MATCH string of ``query``: its phrases quoted and OR-ed, every one at weight 1."""
    return match_any(query_phrases(query)) if query_phrases(query) else None


def arxiv(database, paper_ids):
    with database.session() as session:
        names = dict(session.execute(text("SELECT id, arxiv_id FROM papers")).all())
    return [names[i] for i in paper_ids]




@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_no_input_reaches_fts5_as_syntax(database, query):
    add_papers(database)
    ids(database, query)  # must not raise (an FTS5 syntax error would be sqlite3.OperationalError)


def test_operators_are_searched_as_plain_words(database):
    add_papers(database)
    assert arxiv(database, ids(database, "protein AND NEAR"))[0] == "2402.00002"
    assert match_expression('say "hi" (now)') == '"say" OR "hi" OR "now" OR "say hi" OR "hi now"'


def test_words_in_the_query_order_rank_higher(database):
    add_papers(database, [
        ("2501.00001", "Scattered words", "Attention to sparse data in long trips and documents.", ["A"], "2025-01-01", None),
        ("2501.00002", "Ordered words", "Sparse attention for long documents and data.", ["B"], "2025-01-02", None),
    ])
    assert arxiv(database, ids(database, "sparse attention long documents"))[0] == "2501.00002"


def test_empty_and_wordless_queries_have_no_terms():
    assert match_expression("") is None
    assert match_expression("  ?!*() ") is None
    assert query_terms("the of and") == ["the", "of", "and"]  # only stopwords: keep them
    assert len(query_terms(" ".join(f"w{i}" for i in range(500)))) == 64


def test_stemming_matches_other_word_forms(database):
    add_papers(database)
    assert arxiv(database, ids(database, "grasped object"))[0] == "2403.00003"


def test_index_follows_inserts_updates_and_deletes(database):
    add_papers(database)
    assert arxiv(database, ids(database, "folding")) == ["2402.00002"]
    with database.session() as session:
        upsert_papers(session, [record("2402.00002", "Protein design with flow matching", "Flow matching designs proteins.", ["Grace Hopper"], "2024-02-10", version=2)])
    assert ids(database, "folding") == []
    assert arxiv(database, ids(database, "flow matching")) == ["2402.00002"]
    with database.session() as session:
        session.execute(text("DELETE FROM papers WHERE arxiv_id = '2402.00002'"))
    assert ids(database, "flow matching") == []


def test_authors_are_searchable(database):
    add_papers(database)
    assert arxiv(database, ids(database, "Hopper")) == ["2402.00002"]


def test_filters_and_hidden_papers(database):
    from datetime import date

    add_papers(database)
    assert set(arxiv(database, ids(database, "networks models", organization="deepmind"))) == {"2405.00005"}
    assert set(arxiv(database, ids(database, "learning models", published_from=date(2024, 3, 1), published_before=date(2024, 6, 1)))) <= {
        "2403.00003", "2404.00004", "2405.00005"}
    with database.session() as session:
        session.execute(text("UPDATE papers SET hidden = TRUE WHERE arxiv_id = '2403.00003'"))
    assert "2403.00003" not in arxiv(database, ids(database, "robot grasping"))


def test_a_pair_counts_half_a_word(database, monkeypatch):
    """Pairs weigh PAIR_WEIGHT (keyword/terms.py): a paper with all of a long query's words
    beats one that repeats the query's word order but lacks a rare word. At full pair weight
    (checked below, so this test tells the two apart) the order-matching paper wins."""
    add_papers(database, [
        *PAPERS,
        ("2501.00010", "Summarization of long inputs", "Sparse inputs, attention over each document.", ["A"], "2025-01-10", None),
        ("2501.00011", "Sparse attention for long document models", "Sparse attention over a long document.", ["B"], "2025-01-11", None),
    ])
    query = "sparse attention for long document summarization"
    assert arxiv(database, ids(database, query))[:2] == ["2501.00010", "2501.00011"]
    if database.url.startswith("postgresql"):
        monkeypatch.setattr(keyword_postgres, "PAIR_WEIGHT", 1.0)
        full = ids(database, query)
    else:  # the plain OR of words and pairs: every phrase at weight 1
        with database.session() as session:
            full = session.execute(
                text("SELECT rowid FROM papers_fts WHERE papers_fts MATCH :m ORDER BY bm25(papers_fts)"),
                {"m": match_expression(query)},
            ).scalars().all()
    full = arxiv(database, full)
    assert full.index("2501.00011") < full.index("2501.00010")
