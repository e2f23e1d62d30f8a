"""refresh_indexes: what ``papertide index`` and the worker run to bring search's indexes up to date."""

from __future__ import annotations

import pytest

from papertide.search import SearchService, refresh_indexes
from papertide.search.keyword import impact
from papertide.search.semantic.embedder import HashEmbedder

from ..conftest import BACKEND
from .helpers import add_papers
from .test_keyword_budget import corpus

QUBITS = ("2407.00007", "Quantum error correction codes", "Surface codes protect qubits.", ["Peter Shor"], "2024-07-01", None)


def test_new_papers_are_embedded_once_and_then_found_by_meaning(database):
    add_papers(database)
    first = refresh_indexes(database, HashEmbedder())
    assert first.vectors.embedded == 6 and first.term_statistics == (BACKEND == "postgres")
    again = refresh_indexes(database, HashEmbedder())
    assert again.vectors.embedded == 0 and again.vectors.up_to_date == 6
    add_papers(database, [QUBITS])
    assert refresh_indexes(database, HashEmbedder()).vectors.embedded == 1
    assert SearchService(database, HashEmbedder()).search("qubits surface codes protection")[0].match == "hybrid"


@pytest.mark.sqlite_only  # (PostgreSQL has no impact index)
def test_the_keyword_index_is_rebuilt_when_stale_or_when_asked(database, monkeypatch):
    monkeypatch.setattr(impact, "BUILD_FROM_PAPERS", 10)
    add_papers(database, corpus(size=40))
    built = refresh_indexes(database, HashEmbedder()).keyword_index
    assert built is not None and built.papers == 42
    assert refresh_indexes(database, HashEmbedder()).keyword_index is None  # current: nothing to do
    add_papers(database, [(f"2504.{i:05d}", f"Fresh quasar {i}", "fresh quasar lantern", ["Eve"], "2025-04-01", None) for i in range(1, 4)])
    assert refresh_indexes(database, HashEmbedder()).keyword_index.papers == 45  # 3 of 45 new: past REBUILD_FRACTION
    assert refresh_indexes(database, HashEmbedder(), rebuild_keyword_index=True).keyword_index.papers == 45  # papertide index: always
