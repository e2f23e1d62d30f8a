"""What a paper's card says: comments counted as its page shows them (issue 17, point 1), and
the author a search named, even when the card would hide that name behind "+N authors" (point 9)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from papertide.catalog.upsert import upsert_papers
from papertide.web.rendering import author_line, matched_authors
from tests.catalog.helpers import THU, make_record
from tests.web.helpers import Visitor, make_admin

MANY = ["Ada Lovelace", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra", "Grace Hopper", "Donald Knuth"]


def comment_count(html: str, arxiv_id: str) -> int:
    card = re.search(rf'data-arxiv-id="{re.escape(arxiv_id)}".*?</li>', html, re.S)[0]
    return int(re.search(r'data-testid="comment-count">.*?</svg>(\d+)</a>', card, re.S)[1])


def test_cards_count_the_comments_the_paper_page_shows(catalog, client):
    with catalog.session() as session:  # Hugging Face reported three comments on this one
        upsert_papers(session, [make_record("2508.00040", "Imported with comments", day=THU, comments=3)])
    assert comment_count(client.get("/?date=2025-08-21").text, "2508.00040") == 0
    page = client.get("/papers/2508.00040").text
    assert "No comments here yet" in page
    imported = re.search(r'<a class="muted" href="([^"]+)"[^>]*data-testid="imported-comments">.*?</svg> ([^<]+)</a>', page, re.S)
    assert imported[1] == "https://huggingface.co/papers/2508.00040" and imported[2] == "3 comments on Hugging Face"

    reader = Visitor(TestClient(client.app, base_url="http://testserver"))
    reader.sign_up("reader")
    first = reader.post("/papers/2508.00040/comments", {"body": "Nice."}).json()["id"]
    reader.post("/papers/2508.00040/comments", {"body": "Spam."})
    assert comment_count(client.get("/?date=2025-08-21").text, "2508.00040") == 2
    page = client.get("/papers/2508.00040").text
    assert len(re.findall(r'data-testid="comment"', page)) == 2
    assert re.search(r'data-testid="comment-total">2<', page)

    moderator = Visitor(TestClient(client.app, base_url="http://testserver"))
    moderator.sign_up("moderator")
    make_admin(catalog, "moderator")
    assert moderator.post(f"/admin/comments/{first + 1}/hide", {"reason": "spam"}).status_code == 200
    assert comment_count(client.get("/?date=2025-08-21").text, "2508.00040") == 1
    page = client.get("/papers/2508.00040").text  # the removed one stays as a placeholder with its reason
    assert len(re.findall(r'data-state="shown"', page)) == 1 and re.search(r'data-testid="comment-total">1<', page)


def test_a_searched_author_is_shown_and_marked_on_the_card(catalog, client):
    with catalog.session() as session:
        upsert_papers(session, [make_record("2508.00041", "Compilers for everyone", day=THU, authors=MANY)])
    for query in ("Grace Hopper", "grace  hopper", "Hopper"):
        page = client.get("/search", params={"q": query}).text
        card = re.search(r'data-arxiv-id="2508.00041".*?</li>', page, re.S)[0]
        authors = re.search(r'data-testid="authors">(.*?)</span>', card, re.S)[1]
        assert text_of(authors) == "Ada Lovelace, Alan Turing, Barbara Liskov … <mark>Grace Hopper</mark> +2 authors", query
        assert '<mark><a href="/authors/Grace%20Hopper">Grace Hopper</a></mark>' in authors  # each name leads to its page
    listed = client.get("/?date=2025-08-21").text  # no search, nothing marked
    card = re.search(r'data-arxiv-id="2508.00041".*?</li>', listed, re.S)[0]
    assert "<mark>" not in card and "Barbara Liskov</a> +3 authors" in card


def test_author_matching_is_whole_name_or_surname():
    assert matched_authors(MANY, "grace hopper") == {4}
    assert matched_authors(MANY, "KNUTH") == {5}
    assert matched_authors(MANY, "grace") == set()  # a first name alone names too many people
    assert matched_authors(MANY, "hopper knuth") == set()  # neither name whole
    assert matched_authors(MANY, "") == set()
    assert text_of(author_line(MANY, 1, "Ada Lovelace")) == "<mark>Ada Lovelace</mark> +5 authors"
    escaped = str(author_line(["<b>Eve</b>", "Bob"], 3, "<b>eve</b>"))
    assert text_of(escaped) == "<mark>&lt;b&gt;Eve&lt;/b&gt;</mark>, Bob" and 'href="/authors/%3Cb%3EEve%3C%2Fb%3E"' in escaped
    assert text_of(author_line(MANY[:4], 3)) == "Ada Lovelace, Alan Turing, Barbara Liskov +1 author"


def text_of(line) -> str:
    """An author line without its links (each name links to the author's page)."""
    return re.sub(r"</?a\b[^>]*>", "", str(line))
