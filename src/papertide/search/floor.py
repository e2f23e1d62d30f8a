"""The relevance floor: what a hit must reach to be a result at all, so that a query matching
nothing is answered with nothing, and a filter narrows the results instead of filling the page.

- A query none of whose meaningful words the catalog holds (``Lexicon.knows_any``, after spelling
  correction) has no results: its nearest vectors are whatever happens to lie closest to made-up
  words, so they are offered as "Related", never as results.
- A hit that only the semantic side found must have a cosine of at least the model's floor.
  Cosines mean different things per model, so the floor is per model, read off
  ``benchmarks/search_floor.py`` (figures: docs/performance.md, "Relevance floor"); a model
  without a measured floor (the test-only hash model) has none.
"""

from __future__ import annotations

from papertide.search.semantic.minilm import MODEL_ID as MINILM

SEMANTIC_FLOORS = {MINILM: 0.35}
RELATED = 5  # nearest papers offered beside an empty answer


def semantic_floor(model_id: str | None) -> float | None:
    return SEMANTIC_FLOORS.get(model_id) if model_id else None
