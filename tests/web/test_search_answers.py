"""The search page says what search found: "No papers match" with related papers apart, "Showing
results for" a corrected query with a way back to the words as typed, and an author's papers
first under the author's name. The real app, the real model, a real 1,500-paper demo slice."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from papertide.catalog.upsert import upsert_papers
from papertide.search.semantic.indexer import import_vectors
from papertide.search.semantic.minilm import MODEL_ID
from tests.search.test_trust import DEMO_VECTORS, LLADA, slice_records  # noqa: F401 (a fixture)
from tests.web.helpers import build_app, settings_for

from ..conftest import BACKEND

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def site(request, slice_records):  # noqa: F811
    factory = request.getfixturevalue(f"{BACKEND}_databases")
    database = factory.create()
    with database.session() as session:
        upsert_papers(session, slice_records)
    import_vectors(database, MODEL_ID, DEMO_VECTORS)
    with TestClient(build_app(settings_for(database, embedder="default"), database), base_url="http://testserver") as client:
        yield client
    factory.drop(database)


def cards(html: str) -> list[str]:
    return re.findall(r'data-testid="paper-card" data-arxiv-id="([^"]+)"', html)


@pytest.mark.slow
def test_nothing_matches_shows_no_results_and_related_papers_apart(site):
    page = site.get("/search", params={"q": "xqzvbnm flurble"}, headers=HTML).text
    assert "No papers match “xqzvbnm flurble”" in page
    assert 'data-testid="result-count"' not in page
    related = page.split('data-testid="related"', 1)[1]
    assert "Related" in related and len(cards(related)) == len(cards(page)) > 0


@pytest.mark.slow
def test_a_misspelt_query_shows_results_for_the_correction(site):
    page = site.get("/search", params={"q": "larg langauge difusion modles"}, headers=HTML).text
    assert re.search(r'data-testid="showing-for">Showing results for <a href="[^"]+"><strong>large language diffusion models', page)
    assert cards(page)[0] == LLADA
    as_typed = re.search(r'href="([^"]+)" data-testid="search-as-typed"', page).group(1).replace("&amp;", "&")
    assert "exact=1" in as_typed
    typed = site.get(as_typed, headers=HTML).text
    assert 'data-testid="showing-for"' not in typed and "No papers match “larg langauge difusion modles”" in typed


@pytest.mark.slow
def test_an_author_query_lists_their_papers_first_under_their_name(site, slice_records):  # noqa: F811
    papers = defaultdict(list)
    for record in slice_records:
        for name in record.authors:
            papers[name].append(record.arxiv_id)
    name = max(sorted(n for n in papers if len(n.split()) == 2), key=lambda n: len(papers[n]))
    page = site.get("/search", params={"q": name}, headers=HTML).text
    assert f"Papers by {name}, newest first" in page
    first = page.split('data-testid="author-papers"', 1)[1].split("</ol>", 1)[0]
    assert sorted(cards(first)) == sorted(papers[name])
    assert first.count(f'">{name}</a></mark>') == len(papers[name])  # each card shows and marks the author
