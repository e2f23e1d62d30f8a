"""The relevance floor: what a hit must reach to be a result at all, so that a query matching
nothing is answered with nothing, and a filter narrows the results instead of filling the page.

- A query none of whose meaningful words the catalog holds (``Lexicon.knows_any``, after spelling
  correction) has no results: its nearest vectors are whatever happens to lie closest to made-up
  words, so they are offered as "Related", never as results.
- Otherwise a hit is a result by its meaning or by its words: a cosine of at least the model's
  floor, or (found by the keyword side) holding words of the query worth at least an average
  word of it, each word weighed by its idf: of "sparse attention" it must hold "sparse" (the
  rarer word, more than half the weight), of a long description any of its rarer words (a
  relevant paper shares few words of a long description of it). Keyword search ORs the words (people describe a paper in
  words it lacks), so without the second test a filter that leaves few good matches fills the
  page with papers that share one common word of the query ("long").

Cosines mean different things per model, so the floor is per model, read off
``benchmarks/search_floor.py`` and checked on the public sets with the coverage rule
(figures: docs/performance.md, "Relevance floor"). A model without a measured floor (the test-only hash
model) has none, and neither has a catalog too small for its lexicon to judge.
"""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.db import ids_condition
from papertide.search.fusion import Fused
from papertide.search.keyword.terms import STOPWORDS
from papertide.search.lexicon import JUDGING_PAPERS, Lexicon, author_list, fold, words_of
from papertide.search.semantic.minilm import MODEL_ID as MINILM

SEMANTIC_FLOORS = {MINILM: 0.45}
IDF_POWER = 1.0  # squared (rare words weigh more) cost CACM 0.002-0.007 nDCG@10 at every coverage tried
RELATED = 5  # nearest papers offered beside an empty answer


def semantic_floor(model_id: str | None) -> float | None:
    return SEMANTIC_FLOORS.get(model_id) if model_id else None


def above_floor(session: Session, fused: list[Fused], cosines: dict[int, float], query: str, lexicon: Lexicon,
                floor: float | None, wanted: int) -> list[Fused]:
    """The first ``wanted`` hits of ``fused`` that are results (see the module doc), in order.
    Read in slices of ``wanted``, so that a floor that drops many reaches further down the list
    (a filter never shows fewer relevant papers for it) while a good query reads one slice."""
    if not lexicon.knows_any(query):
        return []
    if floor is None or lexicon.papers < JUDGING_PAPERS:
        return fused[:wanted]
    weights = _query_weights(query, lexicon)
    total = sum(weights.values()) or 1.0
    shares = {w: weight / total for w, weight in weights.items()}
    required = 1 / max(len(weights), 1)  # an average word's worth
    kept: list[Fused] = []
    for start in range(0, len(fused), wanted):
        part = fused[start : start + wanted]
        close = {f.paper_id for f in part if cosines.get(f.paper_id, -1.0) >= floor}
        wordy = [f.paper_id for f in part if f.keyword_rank and f.paper_id not in close]
        covered = {pid for pid, text_ in _paper_texts(session, wordy).items() if coverage(text_, shares) >= required}
        kept += [f for f in part if f.paper_id in close or f.paper_id in covered]
        if len(kept) >= wanted:
            break
    return kept[:wanted]


def coverage(folded_text: str, shares: dict[str, float]) -> float:
    """The share of the query's weight (``shares``: word -> its share) whose words ``folded_text``
    holds: a word is held when the text has a word starting with its stem-like prefix ("models"
    holds for "model"), that is the prefix at the start of the text or after a character that is
    not a word character (``\\b``, as a regular expression sees it). ``str.find`` finds each
    prefix: a regular expression that found them all in one pass cost 20 times as much."""
    return sum(share for word, share in shares.items() if _starts_a_word(folded_text, word[: max(4, len(word) - 2)]))


def _starts_a_word(folded_text: str, prefix: str) -> bool:
    at = folded_text.find(prefix)
    while at > 0 and (folded_text[at - 1].isalnum() or folded_text[at - 1] == "_"):  # inside a word: look further
        at = folded_text.find(prefix, at + 1)
    return at != -1


def _query_weights(query: str, lexicon: Lexicon) -> dict[str, float]:
    words = [w for w in words_of(query) if w not in STOPWORDS] or words_of(query)
    papers = max(lexicon.papers, 1)
    return {w: max(math.log((papers - lexicon.df(w) + 0.5) / (lexicon.df(w) + 0.5)), 0.01) ** IDF_POWER for w in words}


def _paper_texts(session: Session, ids: list[int]) -> dict[int, str]:
    """Each paper's title, abstract and authors, folded as the lexicon folds words."""
    if not ids:
        return {}
    among, params = ids_condition(session, ids)
    rows = session.execute(text(f"SELECT id, title, abstract, authors FROM papers WHERE {among}"), params).all()
    return {pid: fold(f"{title or ''} {abstract or ''} {' '.join(author_list(authors))}") for pid, title, abstract, authors in rows}
