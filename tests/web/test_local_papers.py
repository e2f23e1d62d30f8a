"""A paper that is not on arXiv, on every surface: its page and Markdown, the API, search, similar
papers, feeds, a collection's exports and the page's citation tags. None of them links to arxiv.org
or names an arXiv id for it; submitting it to the daily list by its local id is refused."""

from __future__ import annotations

import io
import json

import bibtexparser
import feedparser
import pytest
import rispy

from papertide.catalog.paper_ids import local_id_for_title
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import ingest
from tests.web.helpers import Visitor
from tests.web.test_reader import meta_of

TITLE = "Tool-Augmented Reward Modeling"
LOCAL = local_id_for_title(TITLE)
RECORD = {"title": TITLE, "org": "baidu", "org_name": "BAIDU", "published_at": "2023-10-02T00:00:00Z",
          "abstract": "Reward models that call calculators and search engines judge answers better."}


@pytest.fixture
def catalog(catalog):
    """The small catalog and, beside its arXiv papers, one paper known only by its local id."""
    source = JsonlSource(stream=io.BytesIO(json.dumps(RECORD).encode() + b"\n"))
    assert ingest(catalog, source, progress=False).counts.added == 1
    return catalog


def test_its_page_shows_the_local_id_and_links_nowhere_on_arxiv(client):
    page = client.get(f"/papers/{LOCAL}")
    assert page.status_code == 200 and TITLE in page.text and f"Local id {LOCAL}" in page.text
    assert "arxiv.org" not in page.text and ">PDF<" not in page.text
    tags = meta_of(page.text)
    assert tags["citation_title"] == [TITLE]
    assert not {"citation_arxiv_id", "citation_pdf_url", "citation_publisher"} & tags.keys()
    assert client.get(f"/papers/{LOCAL.upper()}", follow_redirects=False).headers["location"] == f"/papers/{LOCAL}"


def test_its_markdown_and_api_answer_carry_the_local_id(client):
    markdown = client.get(f"/papers/{LOCAL}.md")
    assert markdown.status_code == 200 and f"- Local id: {LOCAL} (not on arXiv)" in markdown.text
    assert "arxiv" not in markdown.text.lower().replace("not on arxiv", "")
    answer = client.get(f"/api/papers/{LOCAL}")
    assert answer.status_code == 200 and "arxiv.org" not in answer.text
    assert answer.json()["id"] == LOCAL and answer.json()["title"] == TITLE
    assert client.get("/api/papers/local-no-such-paper").status_code == 404


def test_search_finds_it_by_its_words_and_by_its_id(client):
    by_words = client.get("/api/papers/search", params={"q": "reward models calculators"}).json()
    assert LOCAL in [hit["paper"]["id"] for hit in by_words]
    assert [hit["paper"]["id"] for hit in client.get("/api/papers/search", params={"q": LOCAL}).json()] == [LOCAL]
    page = client.get("/search", params={"q": "tool augmented reward"})
    assert f'href="/papers/{LOCAL}"' in page.text


def test_an_id_shaped_phrase_that_names_no_paper_is_searched_as_words(client):
    hits = client.get("/api/papers/search", params={"q": "local-attention"}).json()
    assert hits and all(hit["paper"]["id"] != "local-attention" for hit in hits)


def test_similar_papers_are_asked_of_it_and_it_is_among_those_of_others(client):
    similar = client.get(f"/api/papers/{LOCAL}/similar")
    assert similar.status_code == 200 and LOCAL not in [s["paper"]["id"] for s in similar.json()]
    assert client.get(f"/api/papers/{LOCAL}/votes").json()["id"] == LOCAL


def test_feeds_link_it_to_its_page_here(client):
    document = client.get("/feeds/search.atom", params={"q": "tool augmented reward"})
    entries = feedparser.parse(document.content).entries
    assert f"http://testserver/papers/{LOCAL}" in [entry.link for entry in entries]
    assert "arxiv.org" not in document.text


def test_a_collection_exports_it_without_an_eprint_or_an_arxiv_url(client):
    visitor = Visitor(client)
    visitor.sign_up("labmember")
    assert visitor.vote(LOCAL).json()["upvotes"] == 1
    address = visitor.post("/collections", {"name": "Reward models"}).json()["url"]
    for key in (LOCAL, "2508.00004"):
        assert visitor.post(f"{address}/papers", {"arxiv_id": key}).status_code < 400
    library = bibtexparser.parse_string(visitor.http.get(address + ".bib").text)
    entries = {e.fields_dict["title"].value: e.fields_dict for e in library.entries}
    assert "eprint" not in entries[TITLE] and "archivePrefix" not in entries[TITLE]
    assert entries[TITLE]["note"].value == f"papertide local id {LOCAL}"
    assert entries["Reinforcement learning from feedback"]["eprint"].value == "2508.00004"
    records = {r["title"]: r for r in rispy.loads(visitor.http.get(address + ".ris").text)}
    assert records[TITLE]["accession_number"] == LOCAL and "urls" not in records[TITLE]
    assert "publisher" not in records[TITLE] and "file_attachments1" not in records[TITLE]


def test_submitting_a_local_id_to_the_daily_list_is_refused_in_words(client):
    visitor = Visitor(client)
    visitor.sign_up("submitter")
    answer = visitor.post("/submit", {"arxiv_id": LOCAL})
    assert answer.status_code == 400 and "is a local id" in answer.text and "not on arXiv" in answer.text
