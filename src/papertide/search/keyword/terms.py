"""What keyword search looks for, on every backend: the query's words and its adjacent pairs.

The query is cut into words, and each adjacent pair of non-stopwords becomes a phrase too, so a
paper holding the query's words in the query's order ranks higher. Words are OR-ed, not AND-ed:
people describe a paper in words it does not contain, and AND lost most known-item queries
(benchmarks/search_research_log.md, "BM25").

A pair weighs half a word (``PAIR_WEIGHT``): at full weight it counts its two words a second time
(a paper with the pair always has both words), so long, wordy queries were ranked by their pairs
more than by their words. Half weight is the sequential dependence model's idea (Metzler & Croft,
2005), chosen by cross-validation over both benchmarks (research log, "Pair weight"). Every path
applies it: FTS5 (``fts5.fts5_expression``), the impact index, the Python rescoring and PostgreSQL.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

# Column weights for BM25: title, abstract, authors. Equal weights measured best (research log).
COLUMN_WEIGHTS = (1.0, 1.0, 1.0)
MAX_TERMS = 64  # a 10 KB paste becomes a long but bounded OR query
MAX_BIGRAMS = 32
PAIR_WEIGHT = 0.5

# Function words, plus the words of a search request ("papers about ..."), which match everything.
STOPWORDS = frozenset(
    """a about all also am an and any are as at be been being but by can could do does for from had has
    have how i if in into is it its me my of on or our over so such than that the their them then there
    these they this those to was we were what when where which while who why will with would you your
    article articles paper papers interested find looking""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """Distinct lower-case words of ``query``, stopwords dropped unless nothing else is left."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:MAX_TERMS]


def query_bigrams(query: str) -> list[str]:
    """Adjacent pairs of non-stopwords, in query order: "sparse attention", "long documents"."""
    words = [w.lower() for w in _WORD.findall(query)]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in STOPWORDS and b not in STOPWORDS]
    return list(dict.fromkeys(pairs))[:MAX_BIGRAMS]


def query_phrases(query: str) -> list[str]:
    """Every word, then every adjacent pair; empty when ``query`` has no words at all. (\\w+ never
    holds a double quote, so quoting each phrase is a complete escape for FTS5.)"""
    terms = query_terms(query)
    return terms + query_bigrams(query) if terms else []


def phrase_weight(phrase: str) -> float:
    """``PAIR_WEIGHT`` for a pair ("sparse attention"), 1 for a word (words never hold a space)."""
    return PAIR_WEIGHT if " " in phrase else 1.0


def fold(value: str) -> str:
    """Lower case without diacritics, as the keyword index (unicode61, remove_diacritics) sees text."""
    value = value.lower()
    if value.isascii():
        return value
    return unicodedata.normalize("NFKD", value).translate(_combining_marks())


@cache
def _combining_marks() -> dict[int, None]:
    """Every character of non-zero combining class, to delete: ``str.translate`` drops them in C
    (a generator over the characters cost 25 µs an abstract, and most abstracts are not ASCII)."""
    return dict.fromkeys(point for point in range(sys.maxunicode + 1) if unicodedata.combining(chr(point)))
