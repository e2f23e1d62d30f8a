"""BM25 on both backends: idf, field weights, fresh statistics, and tsquery-safe input on PostgreSQL."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import event, text

from papertide.search import Filters
from papertide.search.keyword import fts5
from papertide.search.keyword import postgres as keyword_postgres
from papertide.search.keyword import postgres_stats as term_stats
from papertide.search.keyword.postgres import Clause, candidate_clauses, postgres_bm25, rarest_within_budget, tsquery_operand
from papertide.search.keyword.terms import COLUMN_WEIGHTS, query_bigrams, query_terms

from .helpers import add_papers, invoke_cli, keyword_hits

# Ten papers share "transformer"; one has "zebrafish". The common word is repeated where ts_rank
# (no idf) would prefer it; BM25's idf must still put the rare word first.
FILLER = [
    (f"2407.{i:05d}", f"Transformer study {i}", f"Transformer layers, transformer heads, case {i}.", [f"Author {i}"], "2024-07-01", None)
    for i in range(1, 11)
]
RARE = ("2408.00001", "Swimming larvae", "Zebrafish swim in tanks.", ["Rosalind Franklin"], "2024-08-01", None)
COMMON = ("2408.00002", "Transformer transformer", "Transformer transformer transformer.", ["Barbara Liskov"], "2024-08-02", None)


def ranked(database, query, limit=10):
    ids = [pid for pid, _ in keyword_hits(database, query, limit)]
    with database.session() as session:
        names = dict(session.execute(text("SELECT id, arxiv_id FROM papers")).all())
    return [names[i] for i in ids]


def test_a_rare_word_outranks_a_common_one(database):
    add_papers(database, [*FILLER, RARE, COMMON])
    top = ranked(database, "transformer zebrafish")
    assert top[0] == "2408.00001"
    assert "2408.00002" in top


def postgres_search(database, query, weights=COLUMN_WEIGHTS, limit=10):
    with database.session() as session:
        hits = postgres_bm25(session, query_terms(query), query_bigrams(query), Filters().sql("postgresql"), limit, weights)
        names = dict(session.execute(text("SELECT id, arxiv_id FROM papers")).all())
    return [(names[pid], score) for pid, score in hits]


@pytest.mark.postgres
def test_postgres_score_is_bm25(make_database):
    """The score of one paper, worked out by hand from BM25's formula; a paper's length is its
    number of distinct lexemes (no stopwords here; author names unstemmed)."""
    database = make_database("postgres")
    add_papers(database, [
        ("2409.00001", "Zebrafish larvae", "Zebrafish swim fast", ["Ada Lovelace"], "2024-09-01", None),  # 6 lexemes
        ("2409.00002", "Coral reefs", "Reefs grow slowly underwater", ["Alan Turing"], "2024-09-02", None),  # 7 (reef twice)
        ("2409.00003", "Desert plants", "Cacti store water", ["Grace Hopper"], "2024-09-03", None),  # 7
    ])
    [(name, score)] = postgres_search(database, "zebrafish")
    n, documents, average = 1, 3, (6 + 7 + 7) / 3
    idf = math.log((documents - n + 0.5) / (n + 0.5))
    tf, k1, b = 2.0, 1.2, 0.75
    assert name == "2409.00001"
    assert score == pytest.approx(idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * 6 / average)), rel=1e-9)


@pytest.mark.postgres
def test_postgres_phrases_and_field_weights(make_database):
    database = make_database("postgres")
    add_papers(database, [
        ("2410.00001", "Sparse attention", "A study of memory.", ["Ada Lovelace"], "2024-10-01", None),
        ("2410.00002", "A study of memory", "Sparse attention.", ["Alan Turing"], "2024-10-02", None),
        ("2410.00003", "A study of memory", "Attention, sparse.", ["Alan Turing"], "2024-10-03", None),
    ])
    title_heavy = [name for name, _ in postgres_search(database, "sparse attention", weights=(5.0, 1.0, 1.0))]
    abstract_heavy = [name for name, _ in postgres_search(database, "sparse attention", weights=(1.0, 5.0, 1.0))]
    assert title_heavy[0] == "2410.00001" and abstract_heavy[0] == "2410.00002"
    # The same words in the same field, but not in the query's order: no phrase bonus.
    assert [name for name, _ in postgres_search(database, "sparse attention")][1:] == ["2410.00002", "2410.00003"]
    assert [name for name, _ in postgres_search(database, "Lovelace", weights=(1.0, 1.0, 0.0))] == []


@pytest.mark.postgres
def test_postgres_statistics_follow_the_catalog(make_database, monkeypatch):
    database = make_database("postgres")
    add_papers(database, [*FILLER, RARE])
    assert [name for name, _ in postgres_search(database, "zebrafish")] == ["2408.00001"]  # builds the statistics
    with database.session() as session:
        assert session.scalar(text("SELECT documents FROM search_corpus_stats")) == 11
        before = session.scalar(text("SELECT documents FROM search_term_stats WHERE lexeme = 'zebrafish'"))
    assert before == 1

    # New papers: a word the statistics have never seen is found at once (counted live) ...
    add_papers(database, [
        (f"2411.{i:05d}", f"Zebrafish axolotl {i}", "Regeneration of fins.", ["Author Z"], "2024-11-01", None) for i in range(1, 6)
    ])
    monkeypatch.setattr(term_stats, "MIN_REFRESH_INTERVAL", 3600.0)
    assert len(postgres_search(database, "axolotl")) == 5
    with database.session() as session:
        assert session.scalar(text("SELECT documents FROM search_term_stats WHERE lexeme = 'zebrafish'")) == 1

    # ... and the next search after the interval refreshes the counts in the background.
    monkeypatch.setattr(term_stats, "MIN_REFRESH_INTERVAL", 0.0)
    monkeypatch.setattr(term_stats, "REFRESH_SHARE", math.inf)
    postgres_search(database, "zebrafish")
    term_stats.wait_for_background_refresh(timeout=60)
    with database.session() as session:
        assert session.scalar(text("SELECT documents FROM search_term_stats WHERE lexeme = 'zebrafish'")) == 6
        assert session.scalar(text("SELECT documents FROM search_corpus_stats")) == 16
        assert session.scalar(text("SELECT max_paper_id FROM search_corpus_stats")) == session.scalar(text("SELECT max(id) FROM papers"))


@pytest.mark.postgres
def test_refresh_is_explicit_and_exclusive(make_database):
    database = make_database("postgres")
    add_papers(database, FILLER)
    assert term_stats.refresh(database.engine)
    with database.engine.begin() as connection:  # another worker holds the refresh lock
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": term_stats._LOCK_KEY})
        assert term_stats.refresh(database.engine, wait=False) is False
    with database.session() as session:
        assert session.scalar(text("SELECT documents FROM search_term_stats WHERE lexeme = 'transform'")) == 10


TSQUERY_SYNTAX = ["zebrafish & !transformer", "zebrafish | transformer", "zebrafish:*", "zebrafish:A", "'zebrafish'",
                  "zebrafish <-> swim", "zebrafish <2> swim", "!(zebrafish)", "zebra\\fish", "it''s", "\\'"]


@pytest.mark.parametrize("query", TSQUERY_SYNTAX)
def test_tsquery_syntax_is_plain_text(database, query):
    add_papers(database, [*FILLER, RARE])
    found = ranked(database, query)  # must not raise a tsquery syntax error
    if "zebrafish" in query:
        assert found[0] == "2408.00001"  # the words are searched, the operators are not obeyed


@pytest.mark.postgres
@pytest.mark.parametrize("lexeme", ["plain", "it's", "back\\slash", "a | b", "x:*", "!", "<->", "''"])
def test_a_lexeme_is_always_one_tsquery_operand(make_database, lexeme):
    database = make_database("postgres")
    with database.session() as session:
        nodes, matches = session.execute(
            text("SELECT numnode(CAST(:q AS tsquery)), array_to_tsvector(ARRAY[CAST(:lexeme AS text)]) @@ CAST(:q AS tsquery)"),
            {"q": tsquery_operand(lexeme), "lexeme": lexeme},
        ).one()
    assert nodes == 1 and matches  # one operand, and it is exactly the lexeme


def test_candidates_are_the_rarest_lexemes_within_the_budget():
    counts = {"model": 9_000, "zebrafish": 3, "fin": 40, "swim": 900, "larva": 60}
    assert rarest_within_budget(counts, budget=1_003) == ["zebrafish", "fin", "larva", "swim"]
    assert rarest_within_budget(counts, budget=1_002) == ["zebrafish", "fin", "larva"]
    assert rarest_within_budget(counts, budget=50) == ["zebrafish", "fin"]
    assert rarest_within_budget({"model": 9_000}, budget=50) == []


def test_candidates_come_from_rare_words_then_pairs_within_the_budget(monkeypatch):
    monkeypatch.setattr(keyword_postgres, "POSTINGS_BUDGET", 100)
    monkeypatch.setattr(keyword_postgres, "PAIR_POSTINGS", 10**9)
    counts = {"zebrafish": 3, "fin": 40, "model": 9_000, "learn": 8_000, "data": 7_000}
    clauses = candidate_clauses(counts, documents=10_000, newest=10_000)
    assert [c.lexemes for c in clauses] == [("zebrafish",), ("fin",), ("data", "learn"), ("data", "model"), ("learn", "model")]
    assert [c.reads for c in clauses[:2]] == [3, 40]  # rare words: all their papers
    assert sum(c.reads for c in clauses) <= 100  # the pairs share what is left: the work is bounded
    assert clauses[2].tsquery == "'data' & 'learn'"
    # Pairs of words that are everywhere cost GIN their whole postings: only within PAIR_POSTINGS.
    monkeypatch.setattr(keyword_postgres, "PAIR_POSTINGS", 15_000)
    assert [c.lexemes for c in candidate_clauses(counts, 10_000, 10_000)] == [("zebrafish",), ("fin",), ("data", "learn")]
    assert candidate_clauses({}, 10_000, 10_000) == []


def test_a_word_in_most_papers_reads_the_newest(monkeypatch):
    monkeypatch.setattr(keyword_postgres, "POSTINGS_BUDGET", 100)
    monkeypatch.setattr(keyword_postgres, "MAX_CANDIDATES", 50)
    [clause] = candidate_clauses({"model": 9_000}, documents=10_000, newest=12_000)
    assert clause == Clause(("model",), 50, 12_000 - 2 * 50 * 10_000 // 9_000)  # ids above: ~100 of its papers
    assert fts5.idf(3, 10_000) == pytest.approx(math.log(9_997.5 / 3.5))
    assert fts5.idf(9_000, 10_000) == 1e-6  # in most papers: FTS5's floor, not a negative score


# Twelve papers newer than the best match hold every word of the query, once, in long abstracts.
OLD_BEST = ("2301.00001", "Zebrafish fin regeneration", "Zebrafish regrow a fin: fin regeneration in zebrafish.",
            ["Ada Lovelace"], "2023-01-01", None)
NEWER = [
    (f"2402.{i:05d}", f"Aquarium survey {i}", f"Among many species and tanks, a zebrafish with a damaged fin showed some "
     f"regeneration over weeks of observation, case {i}, with water quality, feeding and lighting all recorded.",
     [f"Author {i}"], "2024-02-01", None)
    for i in range(1, 13)
]


@pytest.mark.postgres
def test_an_old_best_match_is_scored_past_the_candidate_cap(make_database, monkeypatch):
    """More newer papers hold the query's words than are scored: the old paper that is BM25's
    best match is still found, and with its exact score (a cap by recency would drop it)."""
    database = make_database("postgres")
    add_papers(database, [OLD_BEST, *NEWER])
    exact = postgres_search(database, "zebrafish fin regeneration", limit=3)
    monkeypatch.setattr(keyword_postgres, "MAX_CANDIDATES", 4)
    monkeypatch.setattr(keyword_postgres, "POSTINGS_BUDGET", 20)  # not even all of one word's papers
    capped = postgres_search(database, "zebrafish fin regeneration", limit=3)
    assert exact[0][0] == capped[0][0] == "2301.00001"
    assert capped[0][1] == pytest.approx(exact[0][1], rel=1e-12)


@pytest.mark.postgres
def test_a_word_everywhere_is_read_from_the_newest_papers(make_database, monkeypatch):
    database = make_database("postgres")
    add_papers(database, [OLD_BEST, *NEWER])
    monkeypatch.setattr(keyword_postgres, "POSTINGS_BUDGET", 1)  # no word within budget, one word: no pairs
    monkeypatch.setattr(keyword_postgres, "MAX_CANDIDATES", 2)
    monkeypatch.setattr(keyword_postgres, "NEWEST_BEYOND", 1)  # 13 papers are "far more" than 2
    found = {name for name, _ in postgres_search(database, "zebrafish", limit=5)}
    assert len(found) == 2 and found <= {f"2402.{i:05d}" for i in range(9, 13)}  # from the newest ~2 x 2


@pytest.mark.postgres
def test_a_search_is_two_round_trips(make_database):
    database = make_database("postgres")
    add_papers(database, [OLD_BEST, *NEWER])
    postgres_search(database, "zebrafish")  # the first search computes the statistics
    statements = []

    def record(connection, cursor, statement, *rest):
        statements.append(statement)

    with database.session() as session:
        where = Filters().sql("postgresql")
        session.connection()  # checked out before counting
        event.listen(database.engine, "before_cursor_execute", record)
        try:
            hits = postgres_bm25(session, ["zebrafish", "fin"], ["zebrafish fin"], where, 5)
        finally:
            event.remove(database.engine, "before_cursor_execute", record)
    assert hits[0][0] == 1 and len(statements) == 2, statements


@pytest.mark.postgres
def test_papertide_index_refreshes_the_statistics(make_database, monkeypatch):
    database = make_database("postgres")
    add_papers(database, FILLER)
    result = invoke_cli(database, monkeypatch, ["index", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "refreshed the keyword search statistics" in result.output
    with database.session() as session:
        assert session.scalar(text("SELECT documents FROM search_corpus_stats")) == 10
        assert session.scalar(text("SELECT documents FROM search_term_stats WHERE lexeme = 'transform'")) == 10
