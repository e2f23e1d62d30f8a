"""The reader's own, through the real app: author pages and their spellings, following,
collections (who may see them, and their exports read back by bibtexparser and rispy), the
reference-manager tags of paper pages, and the "For you" page before and after signals."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import bibtexparser
import pytest
import rispy
from fastapi.testclient import TestClient

from papertide.catalog.authors import author_key
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from tests.catalog.helpers import MON, make_record
from tests.web.helpers import Visitor


@pytest.fixture
def visitor(client) -> Visitor:
    return Visitor(client)


def other(app) -> Visitor:
    return Visitor(TestClient(app, base_url="http://testserver"))


class Meta(HTMLParser):
    """``<meta>`` tags as a reference manager collects them: name (or property) -> every content."""

    def __init__(self):
        super().__init__()
        self.tags: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        key = attrs.get("name") or attrs.get("property")
        if tag == "meta" and key:
            self.tags.setdefault(key, []).append(attrs.get("content", ""))


def meta_of(html: str) -> dict[str, list[str]]:
    parser = Meta()
    parser.feed(html)
    return parser.tags


def test_author_names_normalise_case_accents_spacing_and_punctuation():
    assert author_key("Zoë  Ünal-Smith") == author_key("zoe unal smith") == "zoe unal smith"
    assert author_key("J.R.R. Tolkien") == author_key("J. R. R. Tolkien")
    assert author_key("Łukasz Kaiser") == author_key("LUKASZ KAISER")
    assert author_key("A. Lovelace") != author_key("Ada Lovelace")  # initials are another name
    assert author_key("...") == ""


def test_an_author_page_finds_every_spelling_and_redirects_to_the_usual_one(client, catalog):
    with catalog.session() as session:
        upsert_papers(session, [make_record("2508.00011", "Counting machines", day=MON, authors=["ADA  LOVELACE", "Zoë Ünal"])])
    answer = client.get("/authors/ada%20lovelace", follow_redirects=False)
    assert answer.status_code == 301 and answer.headers["location"] == "/authors/Ada%20Lovelace"
    page = client.get("/authors/Ada%20Lovelace")
    assert page.status_code == 200
    cards = re.findall(r'data-arxiv-id="([^"]+)"', page.text)
    assert sorted(cards) == ["2508.00001", "2508.00002", "2508.00003", "2508.00004", "2508.00005", "2508.00006",
                             "2508.00007", "2508.00011"]
    assert "Zoë Ünal" in page.text and "/authors/Alan%20Turing" in page.text  # co-authors, linked
    assert client.get("/authors/Zoe%20Unal", follow_redirects=False).headers["location"] == "/authors/Zo%C3%AB%20%C3%9Cnal"
    assert client.get("/authors/Nobody%20Here").status_code == 404
    # Every author name on a card links to its page.
    assert 'href="/authors/Ada%20Lovelace"' in client.get("/?date=2025-08-21").text


def test_a_changed_author_list_moves_the_paper_between_author_pages(client, catalog):
    changed = make_record("2508.00002", "Diffusion models for protein design", day=MON, upvotes=12,
                          authors=["Grace Hopper"]).model_copy(update={"version": 2})
    with catalog.session() as session:
        upsert_papers(session, [changed])
    assert "2508.00002" in client.get("/authors/Grace%20Hopper").text
    assert "2508.00002" not in client.get("/authors/Ada%20Lovelace").text


def test_following_an_author_and_an_organisation(visitor, client):
    visitor.sign_up("reader")
    answer = visitor.post("/follows", {"kind": "author", "name": "ada lovelace"})
    assert answer.json() == {"kind": "author", "name": "ada lovelace", "following": True}
    page = client.get("/authors/Ada%20Lovelace").text
    assert 'aria-pressed="true" data-testid="follow"' in page and "Following" in page
    assert visitor.post("/follows", {"kind": "organization", "name": "acme"}).json()["following"] is True
    assert 'aria-pressed="true" data-testid="follow"' in client.get("/orgs/acme").text
    assert visitor.post("/follows", {"kind": "organization", "name": "nope"}).status_code == 404
    assert visitor.post("/follows", {"kind": "planet", "name": "mars"}).status_code == 400
    assert visitor.post("/follows", {"kind": "author", "name": "Ada Lovelace", "on": "0"}).json()["following"] is False
    assert 'aria-pressed="false" data-testid="follow"' in client.get("/authors/Ada%20Lovelace").text


def test_collections_are_private_until_shared_and_then_readable_by_anyone_with_the_link(app, visitor):
    visitor.sign_up("owner")
    made = visitor.post("/collections", {"name": "Reading group", "description": "Week 12"})
    assert made.status_code == 201
    address = made.json()["url"]
    assert re.fullmatch(r"/collections/[A-Za-z0-9_-]{22}", address)  # 128 random bits
    for arxiv_id in ("2508.00004", "2508.00001", "arXiv:2508.00003v1"):
        assert visitor.post(f"{address}/papers", {"arxiv_id": arxiv_id}).json()["saved"] is True
    assert visitor.post(f"{address}/papers", {"arxiv_id": "2508.00004"}).status_code == 200  # twice is once

    stranger, someone = other(app), other(app)
    someone.sign_up("someone")
    for reader in (stranger, someone):
        assert reader.http.get(address).status_code == 404
        assert reader.http.get(address + ".bib").status_code == 404
        assert reader.post(f"{address}/papers", {"arxiv_id": "2508.00005"}).status_code in (401, 404)
    mine = visitor.http.get(address).text
    assert sorted(re.findall(r'data-arxiv-id="([^"]+)"', mine)) == ["2508.00001", "2508.00003", "2508.00004"]

    visitor.post(f"{address}/edit", {"name": "Reading group", "description": "Week 12", "shared": "1"})
    shared = stranger.http.get(address)
    assert shared.status_code == 200 and "Reading group" in shared.text and "by <strong>owner</strong>" in shared.text
    assert someone.post(f"{address}/papers", {"arxiv_id": "2508.00005"}).status_code == 404  # the owner's alone
    assert visitor.http.get("/collections").text.count("Shared by link") == 1


def test_exports_read_back_as_bibtex_and_ris(visitor, catalog):
    with catalog.session() as session:  # two papers whose natural BibTeX keys collide
        upsert_papers(session, [make_record("2508.00021", "Sparse attention again", day=MON, authors=["Ada Lovelace"],
                                            published=make_record("2508.00001", "x", day=MON).published_at)])
    visitor.sign_up("exporter")
    address = visitor.post("/collections", {"name": "Attention & sparsity: {draft}"}).json()["url"]
    for arxiv_id in ("2508.00001", "2508.00021", "2508.00004"):
        visitor.post(f"{address}/papers", {"arxiv_id": arxiv_id})

    bib = visitor.http.get(address + ".bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert 'filename="attention-sparsity-draft.bib"' in bib.headers["content-disposition"]
    library = bibtexparser.parse_string(bib.text)
    assert not library.failed_blocks and len({e.key for e in library.entries}) == 3
    by_id = {e.fields_dict["eprint"].value: e for e in library.entries}
    assert by_id["2508.00004"].fields_dict["title"].value == "Reinforcement learning from feedback"
    assert by_id["2508.00004"].fields_dict["author"].value == "Ada Lovelace and Alan Turing"

    records = rispy.loads(visitor.http.get(address + ".ris").text)
    assert [r["type_of_reference"] for r in records] == ["UNPB"] * 3
    by_id = {r["accession_number"]: r for r in records}
    assert by_id["arXiv:2508.00004"]["title"] == "Reinforcement learning from feedback"
    assert by_id["arXiv:2508.00004"]["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert by_id["arXiv:2508.00004"]["urls"] == ["https://arxiv.org/abs/2508.00004"]


def test_paper_pages_carry_citation_opengraph_and_twitter_tags(client, catalog):
    record = PaperRecord.model_validate({
        "arxiv_id": "2508.00031", "title": 'Quotes "and" <tags> in a title', "abstract": "An abstract.",
        "authors": ["Zoë Ünal", "Grace Hopper", "Alan Turing"], "published_at": "2025-08-14T17:59:00Z",
        "daily": {"date": "2025-08-18"},
    })
    with catalog.session() as session:
        upsert_papers(session, [record])
    tags = meta_of(client.get("/papers/2508.00031").text)
    assert tags["citation_title"] == ['Quotes "and" <tags> in a title']
    assert tags["citation_author"] == ["Zoë Ünal", "Grace Hopper", "Alan Turing"]
    assert tags["citation_date"] == tags["citation_publication_date"] == ["2025/08/14"]
    assert tags["citation_pdf_url"] == ["https://arxiv.org/pdf/2508.00031"]
    assert tags["citation_arxiv_id"] == ["2508.00031"]
    assert tags["citation_abstract_html_url"] == tags["og:url"] == ["http://testserver/papers/2508.00031"]
    assert tags["og:title"] == tags["twitter:title"] == ['Quotes "and" <tags> in a title']
    assert tags["og:description"] == ["An abstract."] and tags["twitter:card"] == ["summary"]


def test_for_you_invites_until_three_signals_then_says_why(visitor, client):
    assert "Sign up" in client.get("/for-you").text
    visitor.sign_up("picky")
    page = visitor.http.get("/for-you").text
    assert "Tell papertide what you like" in page and "0 of 3" in page
    visitor.vote("2508.00001")
    visitor.post("/follows", {"kind": "organization", "name": "acme"})
    assert "2 of 3" in visitor.http.get("/for-you").text
    visitor.post("/follows", {"kind": "author", "name": "Alan Turing"})
    page = visitor.http.get("/for-you").text
    assert 'data-testid="why"' in page and "By an author you follow:" in page
    picked = re.findall(r'data-arxiv-id="([^"]+)"', page)
    assert picked and "2508.00001" not in picked  # what the reader upvoted is not offered again
