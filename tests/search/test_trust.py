"""Search people trust, on a real catalog slice with the real model: nothing when nothing matches,
typos corrected, author names answered with the author's papers, filters that only narrow.

1,500 demo papers (the LLaDA papers among them) are ingested through the real JSONL source on
the test backend, with their shipped vectors; queries run through ``SearchService.answer``.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.ingest.detect import open_source
from papertide.search import Filters, SearchOptions, SearchQuery, SearchService
from papertide.search.semantic.indexer import import_vectors
from papertide.search.semantic.minilm import MODEL_ID

from ..conftest import BACKEND, DEMO_CORPUS

DEMO_VECTORS = DEMO_CORPUS.with_name("papers.embeddings.npz")
LLADA = "2502.09992"  # "Large Language Diffusion Models"


@pytest.fixture(scope="module")
def slice_records() -> list[PaperRecord]:
    records = [r for r in open_source(str(DEMO_CORPUS)) if isinstance(r, PaperRecord)]
    return records[1800:3300]


@pytest.fixture(scope="module")
def catalog(request, slice_records):
    """The slice in one database of the test backend, shared by this module's tests (read only)."""
    factory = request.getfixturevalue(f"{BACKEND}_databases")
    database = factory.create()
    with database.session() as session:
        upsert_papers(session, slice_records)
    import_vectors(database, MODEL_ID, DEMO_VECTORS)
    service = SearchService(database)
    yield service
    factory.drop(database)


@pytest.mark.slow
@pytest.mark.parametrize("query", ["xqzvbnm flurble", "razfiw descukcu", "nivudavam", "tupihka vimufunes cumofm"])
def test_made_up_words_have_no_results_and_related_papers_apart(catalog, query):
    answer = catalog.answer(SearchQuery(query, 30))
    assert answer.hits == []
    assert catalog.semantic_error is None
    assert answer.related  # offered apart, labelled by the page; never counted as hits
    assert all(hit.match != "author" for hit in answer.related)


@pytest.mark.slow
def test_a_real_query_still_finds_its_paper(catalog):
    hits = catalog.search(SearchQuery("diffusion language model trained from scratch instead of autoregressive", 10))
    assert LLADA in [h.arxiv_id for h in hits]


@pytest.mark.slow
def test_typos_are_corrected_from_the_catalogs_words(catalog):
    answer = catalog.answer(SearchQuery("larg langauge difusion modles", 10))
    assert answer.showing_for == "large language diffusion models"
    assert answer.hits[0].arxiv_id == LLADA
    # searching the words as typed: no correction, and its unknown words match nothing
    as_typed = catalog.answer(SearchQuery("larg langauge difusion modles", 10, correct=False))
    assert as_typed.showing_for is None and LLADA not in [h.arxiv_id for h in as_typed.hits]


@pytest.mark.slow
def test_words_of_english_and_known_words_are_not_corrected(catalog):
    for query in ("large language diffusion models", "forum receiver scribe"):
        assert catalog.answer(SearchQuery(query, 10)).showing_for is None


def _prolific_author(records: list[PaperRecord]) -> tuple[str, list[PaperRecord]]:
    papers = defaultdict(list)
    for record in records:
        for name in record.authors:
            if len(name.split()) == 2 and len(max(name.split(), key=len)) >= 6:
                papers[name].append(record)
    name = max(sorted(papers), key=lambda n: len(papers[n]))
    return name, papers[name]


@pytest.mark.slow
def test_an_author_name_puts_their_papers_first_newest_first(catalog, slice_records):
    name, papers = _prolific_author(slice_records)
    assert len(papers) >= 3
    newest_first = [r.arxiv_id for r in sorted(papers, key=lambda r: (r.published_at, r.arxiv_id), reverse=True)]
    for query in (name, " ".join(reversed(name.split())), name.lower()):
        answer = catalog.answer(SearchQuery(query, 30))
        assert answer.author == name and answer.author_hits == len(papers)
        assert [h.arxiv_id for h in answer.hits[: len(papers)]] == newest_first
        assert all(h.match == "author" for h in answer.hits[: len(papers)])
        assert all(h.match != "author" for h in answer.hits[len(papers):])


@pytest.mark.slow
def test_a_close_spelling_of_an_author_finds_them(catalog, slice_records):
    name, papers = _prolific_author(slice_records)
    longest = max(name.split(), key=len)
    misspelt = name.replace(longest, longest[0] + longest[2] + longest[1] + longest[3:])  # two letters swapped
    answer = catalog.answer(SearchQuery(misspelt, 30))
    assert answer.author == name
    assert {h.arxiv_id for h in answer.hits[: len(papers)]} == {r.arxiv_id for r in papers}


@pytest.mark.slow
def test_filters_narrow_the_results_and_never_fill_the_page(catalog, slice_records):
    """A date window keeps the relevant papers it holds and adds none: whatever it shows, the
    same search without it shows too, when that search reads every paper as a candidate."""
    days = sorted(r.published_at for r in slice_records)
    window = Filters(published_from=days[len(days) // 2], published_before=days[len(days) // 2 + 150])
    every_candidate = SearchService(catalog.database, catalog.semantic.embedder, SearchOptions(candidates=len(slice_records)))
    shown = 0
    for query in ("humanoid robot locomotion", "protein folding", "sparse attention", "speech recognition"):
        everywhere = {h.arxiv_id for h in every_candidate.search(SearchQuery(query, 200))}
        assert len(everywhere) < 200  # not capped: every relevant paper is in it
        filtered = catalog.search(SearchQuery(query, 30, window))
        assert {h.arxiv_id for h in filtered} <= everywhere
        assert len(filtered) < 30  # the window holds few matches: it shows those, not a full page
        shown += len(filtered)
    assert shown
    assert catalog.search(SearchQuery("xqzvbnm flurble", 30, window)) == []
