"""Keyword retrieval on PostgreSQL: BM25 over the weighted ``papers.search_document`` (migration 0003).

The same query semantics and scores as the FTS5 side (``keyword.py``): any of the query's words,
plus each adjacent pair as a phrase, scored by BM25 (k1 1.2, b 0.75, FTS5's defaults) with the
fields weighted by ``keyword.COLUMN_WEIGHTS``. ``ts_rank_cd`` has no idf, so instead:

1. **Lexemes.** PostgreSQL turns each word into lexemes, stemmed (``english``: title and abstract)
   and as written (``simple``: author names), de-duplicated: each lexeme is one BM25 term.
2. **Statistics.** Document frequencies and the average length come from ``search_term_stats``
   (``term_stats.py``); idf = ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6 as in FTS5.
3. **Candidates.** The GIN index finds the papers holding any of the query's rarest lexemes (as
   many as fit in ``POSTINGS_BUDGET`` papers), or two of the next ``PAIR_WORDS`` rarest: GIN
   intersects those postings itself, so common words ("model", "learning") cost no paper reads,
   and a paper worth ranking holds a rare word or two less rare ones. At most ``MAX_CANDIDATES``
   (the newest) when even pairs are everywhere; a one-word query takes its word's papers.
4. **Exact BM25** of every query lexeme and pair on those candidates, from their own tsvectors:
   positions give the term frequency per field (weights A title, B abstract, C authors), adjacent
   positions the phrase frequency.

Two approximations, both measured (README, docs/postgres-notes.md): a paper's length is its
number of distinct lexemes (``length(tsvector)``; counting positions costs ~0.1 ms a paper), and
a pair's document frequency is its rarer word's (an upper bound: a phrase never weighs more than
that word). User text never becomes tsquery syntax: words go to ``to_tsvector`` as bound
parameters, and the candidate query is built from the lexemes PostgreSQL returns, each quoted
as one tsquery operand (``tsquery_operand``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search import term_stats

K1 = 1.2  # FTS5's bm25() constants
B = 0.75
MIN_IDF = 1e-6  # FTS5 floors idf at this, so a word in more than half the papers still counts a little
POSTINGS_BUDGET = 500  # the rarest lexemes whose paper counts add up to this: any of them makes a candidate
PAIR_WORDS = 6  # the next rarest lexemes: any two of them make a candidate
MAX_CANDIDATES = 5_000  # papers scored at most (the newest) when the words above are everywhere

_LEXEMES = text(
    # Each word's lexemes in text order: english (stemmed, stopwords dropped) and simple (as written).
    "SELECT t.i, "
    "  ARRAY(SELECT e.lexeme FROM unnest(to_tsvector('english', t.word)) AS e ORDER BY e.positions[1]), "
    "  tsvector_to_array(to_tsvector('simple', t.word)) "
    "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(word, i)"
)

_BM25 = """
WITH terms AS (
    SELECT * FROM unnest(CAST(:lexemes AS text[]), CAST(:idfs AS float8[])) AS t(lexeme, idf)
), phrases AS (
    SELECT * FROM unnest(CAST(:firsts AS text[]), CAST(:seconds AS text[]), CAST(:phrase_idfs AS float8[])) AS f(first, second, idf)
), found AS MATERIALIZED (  -- the newest MAX_CANDIDATES ("+ 0": not by walking the primary key backwards)
    SELECT p.id FROM papers AS p
    WHERE p.search_document @@ CAST(:candidates AS tsquery) AND {condition}
    ORDER BY p.id + 0 DESC LIMIT :max_candidates
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
class QueryPlan:
    """The BM25 terms of one query: lexemes and adjacent pairs with their idf, and the candidate lexemes."""

    idfs: dict[str, float]
    phrases: list[tuple[str, str, float]]
    candidates: str  # a tsquery: any of the rarest lexemes, or two of the next rarest


def keyword_search_postgres(
    session: Session, terms: list[str], bigrams: list[str], weights: tuple[float, float, float],
    condition: str, params: dict, limit: int,
) -> list[tuple[int, float]]:
    """(paper id, BM25 score; higher is better) for the ``limit`` best matches."""
    stats = term_stats.corpus_stats(session)
    if stats is None:
        return []
    plan = query_plan(session, terms, bigrams, stats.documents)
    if not plan.candidates:
        return []
    title, abstract, authors = (float(w) for w in weights)
    rows = session.execute(
        text(_BM25.format(condition=condition)),
        {
            **params,
            "lexemes": list(plan.idfs), "idfs": list(plan.idfs.values()),
            "firsts": [a for a, _, _ in plan.phrases], "seconds": [b for _, b, _ in plan.phrases],
            "phrase_idfs": [idf for _, _, idf in plan.phrases],
            "candidates": plan.candidates,
            "max_candidates": MAX_CANDIDATES, "title": title, "abstract": abstract, "authors": authors,
            "k1": K1, "b": B, "average_length": stats.average_length, "limit": limit,
        },
    ).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def query_plan(session: Session, terms: list[str], bigrams: list[str], documents: int) -> QueryPlan:
    """Lexemes of ``terms`` (and phrase pairs of ``bigrams``) found in the catalog, with idf and candidates."""
    words = list(dict.fromkeys([*terms, *(w for pair in bigrams for w in pair.split(" "))]))
    lexemes_of = {words[i - 1]: (list(english), list(simple)) for i, english, simple in session.execute(_LEXEMES, {"words": words})}
    lexemes = list(dict.fromkeys(lexeme for term in terms for group in lexemes_of[term] for lexeme in group))
    frequencies = {lexeme: n for lexeme, n in term_stats.document_frequencies(session, lexemes).items() if n > 0}
    idfs = {lexeme: idf(n, documents) for lexeme, n in frequencies.items()}
    phrases = []
    for pair in bigrams:
        first, second = pair.split(" ")
        a, b = lexemes_of[first][0][-1:], lexemes_of[second][0][:1]
        if a and b and a[0] in frequencies and b[0] in frequencies:
            phrases.append((a[0], b[0], idf(min(frequencies[a[0]], frequencies[b[0]]), documents)))
    return QueryPlan(idfs, list(dict.fromkeys(phrases)), candidate_query(frequencies))


def candidate_query(frequencies: dict[str, int]) -> str:
    """A tsquery for the papers worth scoring: any of the rarest lexemes (``POSTINGS_BUDGET``), or
    two of the next ``PAIR_WORDS`` rarest (GIN intersects their postings without reading papers).
    A query whose every word is common ("diffusion models") thus asks for papers with two of them."""
    ordered = sorted(frequencies, key=lambda lexeme: (frequencies[lexeme], lexeme))
    rare = rarest_within_budget(frequencies)
    if not rare and len(ordered) == 1:  # one word, in many papers: its papers (the newest MAX_CANDIDATES)
        rare = ordered
    paired = [lexeme for lexeme in ordered if lexeme not in rare][:PAIR_WORDS]
    operands = [tsquery_operand(lexeme) for lexeme in rare]
    operands += [f"({tsquery_operand(a)} & {tsquery_operand(b)})" for a, b in itertools.combinations(paired, 2)]
    return " | ".join(operands)


def idf(documents_with_term: int, documents: int) -> float:
    """FTS5's BM25 idf: ln((N - n + 0.5) / (n + 0.5)), at least ``MIN_IDF``."""
    documents = max(documents, documents_with_term)
    return max(math.log((documents - documents_with_term + 0.5) / (documents_with_term + 0.5)), MIN_IDF)


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
