"""Keyword retrieval on PostgreSQL: BM25 over the weighted ``papers.search_document`` (migration 0003).

The same query semantics and scores as the FTS5 side: any of the query's words, plus each
adjacent pair as a phrase (weighing ``terms.PAIR_WEIGHT`` of a word), scored by BM25 as FTS5
scores it (``fts5.K1``, ``fts5.B``, ``fts5.idf``) with the fields weighted by ``terms.COLUMN_WEIGHTS``. ``ts_rank_cd`` has no idf, so instead, in two
round trips:

1. **Look-up** (one statement, ``look_up``): each word's lexemes, stemmed (``english``: title and
   abstract) and as written (``simple``: author names), de-duplicated, each one BM25 term; how
   many papers hold each (``search_term_stats``, ``postgres_stats.py``); the corpus totals and the
   newest paper id (which keep those statistics fresh). idf = ln((N - n + 0.5) / (n + 0.5)),
   floored at 1e-6 as in FTS5.
2. **Search** (one statement, ``_SEARCH``):

   a. *Postings.* The GIN index lists the papers holding each of the query's rarest lexemes (as
      many lexemes as fit in ``POSTINGS_BUDGET`` papers), then those holding two of the next
      ``PAIR_WORDS`` rarest together (GIN intersects those postings itself, decoding at most
      ``PAIR_POSTINGS`` for them). Only paper ids are read (a heap visit each), never a paper's text;
      at most ``POSTINGS_BUDGET`` of them in all.
   b. *Candidates by relevance.* Each paper found gets an estimate of its BM25 score: the idf of
      the query lexemes it was found to hold, with BM25's length normalisation at one occurrence
      each, its text's size in bytes standing for its length (read with its id, free). The best
      ``MAX_CANDIDATES`` go on, newest first among equals: a paper that holds more of the
      query's rarer words, or the same words in a shorter text, is scored first, however old.
   c. *Exact BM25* of every query lexeme and pair on those candidates, from their own tsvectors
      (the costliest step per paper, hence the candidate cap): positions give the term frequency
      per field (weights A title, B abstract, C authors), adjacent positions the phrase frequency.

So the work per query is bounded at any corpus size (``POSTINGS_BUDGET`` ids, ``MAX_CANDIDATES``
tsvectors), the scores returned are exact BM25, and what is approximate is which papers are
scored. A pair, or a query's only word, in far more papers than it may read is read from the
newest papers (the GIN index ANDed with a range of the primary key). The one cost that grows
with the corpus is GIN decoding such a word's whole posting list (cheap per posting, but every
posting) when no word of the query is rare enough for the budget.

Two approximations, both measured (research log, "Search on PostgreSQL: design notes and
measurements", which also gives the cost of each step): a paper's length is its number of
distinct lexemes (``length(tsvector)``, free, where counting positions unnests the whole
``tsvector``), and a pair's document frequency is its rarer word's (an upper bound: a phrase never weighs more than
that word). User text never becomes tsquery syntax: words go to ``to_tsvector`` as bound
parameters, and the candidate queries are built from the lexemes PostgreSQL returns, each quoted
as one tsquery operand (``tsquery_operand``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search.filters import SqlFilter
import papertide.search.keyword.postgres_stats as term_stats
from papertide.search.keyword.fts5 import B, K1, idf
from papertide.search.keyword.terms import COLUMN_WEIGHTS, PAIR_WEIGHT
from papertide.search.trace import span

# The budgets against quality and cost: benchmarks/pg_keyword.py (figures in the research log).
POSTINGS_BUDGET = 30_000  # paper ids read from the GIN index per query (a heap visit each)
PAIR_WORDS = 6  # the lexemes after the rarest: any two of them together find papers
PAIR_POSTINGS = 200_000  # postings GIN may decode to intersect those pairs (far cheaper than an id read)
MAX_CANDIDATES = 1_000  # papers scored exactly (the costliest step), the best by their estimate
NEWEST_BEYOND = 10  # a clause in this many times more papers than it may read reads the newest ones

_LOOK_UP = f"""
WITH words AS (  -- each word's lexemes in text order: english (stemmed, stopwords dropped) and simple (as written)
    SELECT t.i, ARRAY(SELECT e.lexeme FROM unnest(to_tsvector('english', t.word)) AS e ORDER BY e.positions[1]) AS english,
           tsvector_to_array(to_tsvector('simple', t.word)) AS simple
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(word, i)
), lexemes AS (
    SELECT DISTINCT l.lexeme FROM words, unnest(words.english || words.simple) AS l(lexeme)
)
SELECT {term_stats.CORPUS_COLUMNS}, (SELECT max(id) FROM papers),
       (SELECT jsonb_agg(jsonb_build_array(w.english, w.simple) ORDER BY w.i) FROM words AS w),
       (SELECT jsonb_object_agg(l.lexeme, {term_stats.DOCUMENTS_OF_LEXEME})
        FROM lexemes AS l LEFT JOIN search_term_stats AS s ON s.lexeme = l.lexeme)
FROM {term_stats.CORPUS_FROM}
"""

_SEARCH = """
WITH terms AS (
    SELECT * FROM unnest(CAST(:lexemes AS text[]), CAST(:idfs AS float8[])) AS t(lexeme, idf)
), phrases AS (
    SELECT * FROM unnest(CAST(:firsts AS text[]), CAST(:seconds AS text[]), CAST(:phrase_idfs AS float8[])) AS f(first, second, idf)
), clauses AS (
    SELECT * FROM unnest(CAST(:clause_queries AS tsquery[]), CAST(:clause_firsts AS text[]), CAST(:clause_seconds AS text[]),
                         CAST(:clause_reads AS integer[]), CAST(:clause_floors AS bigint[]))
        WITH ORDINALITY AS c(query, first, second, reads, id_floor, i)
), hits AS MATERIALIZED (  -- (clause, paper id, text size) from the GIN index, rarest clause first, their reads at most
    SELECT read.i, read.id, read.size FROM (
        SELECT c.i, h.id, h.size FROM clauses AS c CROSS JOIN LATERAL (
            SELECT p.id, octet_length(p.title) + octet_length(p.abstract) AS size
            FROM papers AS p WHERE p.search_document @@ c.query AND {condition} LIMIT c.reads
        ) AS h WHERE c.id_floor IS NULL
        UNION ALL  -- a clause in far more papers than it may read: the newest (GIN ANDed with the primary key)
        SELECT c.i, h.id, h.size FROM clauses AS c CROSS JOIN LATERAL (
            SELECT p.id, octet_length(p.title) + octet_length(p.abstract) AS size
            FROM papers AS p WHERE p.search_document @@ c.query AND p.id > c.id_floor AND {condition} LIMIT c.reads
        ) AS h WHERE c.id_floor IS NOT NULL
    ) AS read LIMIT :budget
), held AS (  -- the query lexemes each paper was found to hold (a pair's two words; papers found by several pairs once)
    SELECT h.id, h.size, c.first AS lexeme FROM hits AS h JOIN clauses AS c USING (i) WHERE c.second IS NULL
    UNION ALL
    SELECT DISTINCT h.id, h.size, l.lexeme
    FROM hits AS h JOIN clauses AS c USING (i), unnest(ARRAY[c.first, c.second]) AS l(lexeme) WHERE c.second IS NOT NULL
), estimates AS (  -- BM25 as if each word held occurred once, the text's size in bytes standing in for its length
    SELECT held.id, sum(terms.idf) / (1 + :k1 * (1 - :b + :b * held.size / greatest(avg(held.size) OVER (), 1))) AS estimate
    FROM held JOIN terms USING (lexeme) GROUP BY held.id, held.size
), found AS MATERIALIZED (  -- the best MAX_CANDIDATES by that estimate, newest first among equals
    SELECT id FROM estimates ORDER BY estimate DESC, id DESC LIMIT :max_candidates
), candidates AS MATERIALIZED (
    -- length: distinct lexemes, free to read; matched: the tsvector cut down to the query's lexemes
    -- (delete every other lexeme: C functions, no row per lexeme of the document)
    SELECT p.id, length(p.search_document) AS length,
           ts_delete(p.search_document, tsvector_to_array(ts_delete(p.search_document, CAST(:lexemes AS text[])))) AS matched
    FROM found JOIN papers AS p USING (id)
), entries AS MATERIALIZED (  -- one row per (candidate, query lexeme it holds): positions and field-weighted tf
    SELECT c.id, c.length, e.lexeme, e.positions, e.weights,
           :title * cardinality(array_positions(e.weights, 'A')) + :abstract * cardinality(array_positions(e.weights, 'B'))
           + :authors * cardinality(array_positions(e.weights, 'C')) AS tf
    FROM candidates AS c, unnest(c.matched) AS e
), frequencies AS (
    SELECT e.id, e.length, t.idf, e.tf FROM entries AS e JOIN terms AS t USING (lexeme)
    UNION ALL
    SELECT x.id, x.length, f.idf, (  -- occurrences of the first word followed by the second, weighted by field
        SELECT coalesce(sum(CASE o.weight WHEN 'A' THEN :title WHEN 'B' THEN :abstract WHEN 'C' THEN :authors ELSE 0 END), 0)
        FROM unnest(x.positions, x.weights) AS o(position, weight) WHERE o.position + 1 = ANY(y.positions))
    FROM phrases AS f JOIN entries AS x ON x.lexeme = f.first JOIN entries AS y ON y.id = x.id AND y.lexeme = f.second
)
SELECT id, sum(idf * tf * (:k1 + 1) / (tf + :k1 * (1 - :b + :b * length / :average_length))) AS score
FROM frequencies
GROUP BY id
HAVING sum(tf) > 0
ORDER BY score DESC, id
LIMIT :limit
"""


@dataclass(frozen=True)
class LookUp:
    """What the catalog knows of a query's words: corpus totals, newest paper, lexemes, their counts."""

    stats: term_stats.CorpusStats | None
    newest: int  # highest paper id (0 without papers)
    lexemes_of: dict[str, tuple[list[str], list[str]]]  # word -> (english lexemes in order, simple lexemes)
    frequencies: dict[str, int]  # lexeme -> papers holding it


@dataclass(frozen=True)
class Clause:
    """One way a paper becomes a candidate: it holds ``lexemes`` (one rare lexeme, or two together)."""

    lexemes: tuple[str, ...]
    reads: int  # paper ids read at most
    id_floor: int | None = None  # read only papers with a higher id (the newest), or all

    @property
    def tsquery(self) -> str:
        return " & ".join(tsquery_operand(lexeme) for lexeme in self.lexemes)


@dataclass(frozen=True)
class QueryPlan:
    """The BM25 terms of one query (lexemes and adjacent pairs with their idf) and its candidate clauses."""

    idfs: dict[str, float]
    phrases: list[tuple[str, str, float]]
    clauses: list[Clause]


def postgres_bm25(
    session: Session, terms: list[str], bigrams: list[str], where: SqlFilter, limit: int,
    weights: tuple[float, float, float] = COLUMN_WEIGHTS,
) -> list[tuple[int, float]]:
    """(paper id, BM25 score; higher is better) for the ``limit`` best matches."""
    words = list(dict.fromkeys([*terms, *(w for pair in bigrams for w in pair.split(" "))]))
    found = look_up(session, words)
    stats = term_stats.keep_fresh(session, found.stats, found.newest)
    if stats is None:
        return []
    plan = query_plan(found, terms, bigrams, stats.documents)
    if not plan.clauses:
        return []
    title, abstract, authors = (float(w) for w in weights)
    with span("keyword.postgres"):
        rows = session.execute(text(_SEARCH.format(condition=where.condition)), {
            **where.params,
            "lexemes": list(plan.idfs), "idfs": list(plan.idfs.values()),
            "firsts": [a for a, _, _ in plan.phrases], "seconds": [b for _, b, _ in plan.phrases],
            "phrase_idfs": [idf for _, _, idf in plan.phrases],
            "clause_queries": [c.tsquery for c in plan.clauses],
            "clause_firsts": [c.lexemes[0] for c in plan.clauses],
            "clause_seconds": [c.lexemes[1] if len(c.lexemes) > 1 else None for c in plan.clauses],
            "clause_reads": [c.reads for c in plan.clauses], "clause_floors": [c.id_floor for c in plan.clauses],
            "budget": sum(c.reads for c in plan.clauses), "max_candidates": MAX_CANDIDATES,
            "title": title, "abstract": abstract, "authors": authors,
            "k1": K1, "b": B, "average_length": stats.average_length, "limit": limit,
        }).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def look_up(session: Session, words: list[str]) -> LookUp:
    """One round trip: the corpus totals, the newest paper id, and each word's lexemes with counts."""
    row = session.execute(text(_LOOK_UP), {"words": words}).one()
    stats = term_stats.CorpusStats.from_row(row[:5])
    lexemes_of = {word: (list(english), list(simple)) for word, (english, simple) in zip(words, row[6] or [])}
    return LookUp(stats, int(row[5] or 0), lexemes_of, {lexeme: int(n) for lexeme, n in (row[7] or {}).items()})


def query_plan(found: LookUp, terms: list[str], bigrams: list[str], documents: int) -> QueryPlan:
    """The lexemes of ``terms`` (and phrase pairs of ``bigrams``) found in the catalog, with idf and clauses."""
    lexemes_of = found.lexemes_of
    lexemes = list(dict.fromkeys(lexeme for term in terms for group in lexemes_of[term] for lexeme in group))
    frequencies = {lexeme: found.frequencies[lexeme] for lexeme in lexemes if found.frequencies.get(lexeme, 0) > 0}
    idfs = {lexeme: idf(n, documents) for lexeme, n in frequencies.items()}
    phrases = []
    for pair in bigrams:
        first, second = pair.split(" ")
        a, b = lexemes_of[first][0][-1:], lexemes_of[second][0][:1]
        if a and b and a[0] in frequencies and b[0] in frequencies:
            phrases.append((a[0], b[0], idf(min(frequencies[a[0]], frequencies[b[0]]), documents) * PAIR_WEIGHT))
    return QueryPlan(idfs, list(dict.fromkeys(phrases)), candidate_clauses(frequencies, documents, found.newest))


def candidate_clauses(frequencies: dict[str, int], documents: int, newest: int) -> list[Clause]:
    """How to find the papers worth scoring, within ``POSTINGS_BUDGET`` paper ids read:

    * each of the rarest lexemes, all its papers (as many lexemes as fit in the budget);
    * then any two of the next ``PAIR_WORDS`` rarest together, the most selective pairs first,
      sharing what is left of the budget, as long as GIN decodes at most ``PAIR_POSTINGS``
      postings for them (intersecting two common words reads both lists);
    * if that leaves nothing (every word is in most papers: "diffusion models" at a million
      papers), the newest papers holding the rarest word.
    """
    rare = rarest_within_budget(frequencies)
    clauses = [Clause((lexeme,), frequencies[lexeme]) for lexeme in rare]
    left = POSTINGS_BUDGET - sum(frequencies[lexeme] for lexeme in rare)
    common = sorted((lexeme for lexeme in frequencies if lexeme not in rare), key=lambda lexeme: (frequencies[lexeme], lexeme))
    # A pair's papers, guessed as if its words were independent (counting them would read them all).
    expected = {pair: max(1, frequencies[pair[0]] * frequencies[pair[1]] // max(documents, 1))
                for pair in itertools.combinations(common[:PAIR_WORDS], 2)}
    pairs, decoded = [], 0
    for pair in sorted(expected, key=lambda pair: (expected[pair], pair)):
        decoded += frequencies[pair[0]] + frequencies[pair[1]]
        if decoded > PAIR_POSTINGS:
            break
        pairs.append(pair)
    for n, pair in enumerate(pairs):  # the budget left, shared
        if left <= 0:
            break
        reads = max(left // (len(pairs) - n), 1)
        clauses.append(_clause(pair, reads, expected[pair], documents, newest))
        left -= min(reads, expected[pair])
    if not clauses and common:
        clauses.append(_clause((common[0],), MAX_CANDIDATES, frequencies[common[0]], documents, newest))
    return clauses


def _clause(lexemes: tuple[str, ...], reads: int, expected: int, documents: int, newest: int) -> Clause:
    """A clause that reads at most ``reads`` of its ~``expected`` papers: the newest ones if far more."""
    if expected <= NEWEST_BEYOND * reads:
        return Clause(lexemes, reads)
    # Ids above the floor: about twice the papers that should hold ``reads`` of the clause's.
    return Clause(lexemes, reads, max(newest - 2 * reads * documents // expected, 0))


def rarest_within_budget(frequencies: dict[str, int], budget: int | None = None) -> list[str]:
    """The rarest lexemes whose document counts add up to at most ``budget``."""
    budget = POSTINGS_BUDGET if budget is None else budget
    chosen, spent = [], 0
    for lexeme, count in sorted(frequencies.items(), key=lambda item: (item[1], item[0])):
        if spent + count > budget:
            break
        chosen.append(lexeme)
        spent += count
    return chosen


def tsquery_operand(lexeme: str) -> str:
    """``lexeme`` as one quoted tsquery operand: quotes doubled, backslashes escaped, nothing else special."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
