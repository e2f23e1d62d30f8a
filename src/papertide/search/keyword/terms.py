"""How much an adjacent-pair phrase weighs in BM25 against a single query word.

Keyword search adds every adjacent pair of query words ("sparse attention") to the words as a
phrase (``keyword.query_phrases``): a paper holding the query's words in the query's order ranks
higher. At full weight a pair counts its two words a second time (a paper with the pair always
has both words too), so long, wordy queries were ranked by their pairs more than by their words.
Half weight is the sequential dependence model's idea (Metzler & Croft, 2005: words, plus
ordered pairs at a lower weight), with the weight chosen by 4-fold cross-validation over both
search benchmarks (benchmarks/search_research_log.md, "Pair weight"): known-item MRR@10 0.910 ->
0.92x, CACM nDCG@10 kept above 0.52.

Every keyword path applies it: SQLite FTS5 (``fts5_expression``), the Python and impact-index
BM25 (a phrase's idf times its weight: BM25 is linear in idf) and PostgreSQL.
"""

from __future__ import annotations

PAIR_WEIGHT = 0.5
# FTS5's bm25() has no per-phrase weight, but it is a sum over the expression's phrases, so a word
# listed n times counts n times: words x n, pairs x 1, all divided by n. Needs PAIR_WEIGHT = 1/n.
WORD_REPEATS = round(1 / PAIR_WEIGHT)
assert abs(WORD_REPEATS * PAIR_WEIGHT - 1) < 1e-12, "PAIR_WEIGHT must be 1/n for the FTS5 expression"


def phrase_weight(phrase: str) -> float:
    """``PAIR_WEIGHT`` for a pair ("sparse attention"), 1 for a word (words never hold a space)."""
    return PAIR_WEIGHT if " " in phrase else 1.0


def fts5_expression(phrases: list[str]) -> str:
    """The OR of the quoted ``phrases`` for ``MATCH``, each word repeated ``WORD_REPEATS`` times:
    ``bm25()`` of it divided by ``WORD_REPEATS`` is the pair-weighted BM25. Phrases are ``\\w+``
    words and spaces, so quoting escapes everything."""
    return " OR ".join(" OR ".join([f'"{p}"'] * (1 if " " in p else WORD_REPEATS)) for p in phrases)
