"""Signed-in readers' pages, rendered once for all readers and filled per reader (``web.reader_pages``).

The reference is the page rendered for the reader alone: an app without the shared pages
(``page_cache=False``) over the same database, asked with the same cookie, must answer the very
same bytes. Then what sharing must never do: show one reader's votes, name or CSRF token to
another, lag behind a reader's own vote, or serve a session that has ended.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from papertide.catalog import versions
from papertide.catalog.version_listener import ListeningReader
from papertide.db import Database
from papertide.web.app import create_app
from tests.catalog.helpers import NOW
from tests.web.helpers import Visitor, build_app, make_admin, settings_for

WAIT = 10.0  # seconds, for a notification on a loaded machine; each wait ends once its condition holds
SLOT_MARKER = re.compile(r"<!--[0-9a-f]{16}:\d+-->")
PAPER = "2508.00004"  # on Thursday's list, the day the test clock shows
OTHER = "2508.00005"


def reader(app, name: str) -> Visitor:
    visitor = Visitor(TestClient(app, base_url="http://testserver"))
    visitor.sign_up(name)
    return visitor


def alone(app, visitor: Visitor) -> TestClient:
    """A client of an app that renders every page for its reader, with ``visitor``'s cookies."""
    solo = create_app(app.state.settings, database=app.state.database, clock=lambda: NOW, page_cache=False)
    return TestClient(solo, base_url="http://testserver", cookies=dict(visitor.http.cookies))


def pressed(page: str, arxiv_id: str) -> str:
    """The aria-pressed of a paper's upvote button on a page."""
    return re.search(rf'aria-pressed="(\w+)"\s+aria-label="[^"]*"\s+data-testid="vote-{re.escape(arxiv_id)}"', page)[1]


def count(page: str, arxiv_id: str) -> int:
    return int(re.search(rf'data-testid="votes-{re.escape(arxiv_id)}" data-count="(\d+)"', page)[1])


def token_on(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


@pytest.fixture
def ada(app) -> Visitor:
    visitor = reader(app, "ada")
    assert visitor.vote(PAPER).status_code == 200
    answer = visitor.post("/collections", {"name": "Reading group", "arxiv_id": PAPER})
    assert answer.status_code == 201, answer.text
    return visitor


@pytest.mark.parametrize("path", ["/", "/?sort=newest", "/?week=2025-W34", f"/papers/{PAPER}", f"/papers/{OTHER}", "/trending",
                                  "/search?q=attention", "/search?q=sparse+attention&org=acme"])
def test_a_readers_page_is_the_page_rendered_for_them_alone(app, ada, path):
    pages = app.state.reader_pages
    first = ada.http.get(path)  # renders the shared page, then fills it
    hits = pages.hits
    again = ada.http.get(path)  # answered from the shared page
    assert pages.hits == hits + 1
    reference = alone(app, ada).get(path)
    assert first.status_code == again.status_code == reference.status_code == 200
    assert first.text == again.text == reference.text
    assert not SLOT_MARKER.search(again.text)
    assert 'data-testid="current-user"' in again.text and ">ada<" in again.text


def test_one_readers_state_never_reaches_another_readers_page(app, ada):
    grace = reader(app, "grace")
    ada_page, grace_page = ada.http.get("/").text, grace.http.get("/").text
    assert pressed(ada_page, PAPER) == "true" and pressed(grace_page, PAPER) == "false"
    assert ">ada<" not in grace_page and ">grace<" in grace_page
    assert token_on(ada_page) == ada.csrf and token_on(grace_page) == grace.csrf != ada.csrf
    assert ada.csrf not in grace_page
    # ada's collection is in her Save menu only
    assert "Reading group" in ada.http.get(f"/papers/{PAPER}").text
    assert "Reading group" not in grace.http.get(f"/papers/{PAPER}").text


def test_a_vote_shows_at_once_to_its_voter_and_to_every_other_reader(app, ada):
    grace = reader(app, "grace")
    before = count(ada.http.get("/").text, OTHER)
    assert count(grace.http.get("/").text, OTHER) == before
    assert grace.vote(OTHER).status_code == 200
    grace_page, ada_page = grace.http.get("/").text, ada.http.get("/").text
    assert pressed(grace_page, OTHER) == "true" and count(grace_page, OTHER) == before + 1
    assert pressed(ada_page, OTHER) == "false" and count(ada_page, OTHER) == before + 1
    assert grace.vote(OTHER).status_code == 200  # and off again
    assert pressed(grace.http.get("/").text, OTHER) == "false"


def test_the_token_on_a_filled_page_is_the_readers_own(app, ada):
    grace = reader(app, "grace")
    ada.http.get("/")
    ada_token, grace_token = token_on(ada.http.get("/").text), token_on(grace.http.get("/").text)
    headers = {"Accept": "application/json"}
    refused = ada.http.post(f"/papers/{OTHER}/vote", data={"csrf_token": grace_token}, headers=headers)
    assert refused.status_code == 403
    accepted = ada.http.post(f"/papers/{OTHER}/vote", data={"csrf_token": ada_token}, headers=headers)
    assert accepted.status_code == 200 and accepted.json()["voted"] is True


def test_a_comment_author_gets_their_edit_links_and_other_readers_the_shared_page(app, ada):
    grace = reader(app, "grace")
    assert ada.post(f"/papers/{PAPER}/comments", {"body": "A first comment"}).status_code == 201
    pages = app.state.reader_pages
    grace.http.get(f"/papers/{PAPER}")
    hits = pages.hits
    grace_page = grace.http.get(f"/papers/{PAPER}").text
    assert pages.hits == hits + 1  # served from the shared page
    assert "A first comment" in grace_page and 'data-testid="edit-comment"' not in grace_page
    ada_page = ada.http.get(f"/papers/{PAPER}").text
    assert 'data-testid="edit-comment"' in ada_page
    assert ada_page == alone(app, ada).get(f"/papers/{PAPER}").text


def test_moderators_and_readers_with_a_message_get_their_page_rendered(app, catalog, ada):
    boss = reader(app, "boss")
    make_admin(catalog, "boss")
    ada.http.get(f"/papers/{PAPER}")  # the shared page exists
    assert 'data-testid="hide-paper"' in boss.http.get(f"/papers/{PAPER}").text
    assert 'data-testid="hide-paper"' not in ada.http.get(f"/papers/{PAPER}").text
    assert ada.post("/account/sessions/end", json_api=False, follow_redirects=False).status_code == 303
    shown = ada.http.get("/").text
    assert "Every other device is signed out." in shown
    assert "Every other device is signed out." not in ada.http.get("/").text  # shown once


def test_an_ended_session_gets_the_anonymous_page(app, ada):
    ada.http.get("/")  # the shared page exists
    copy = TestClient(app, base_url="http://testserver", cookies=dict(ada.http.cookies))
    assert ">ada<" in copy.get("/").text
    assert ada.post("/logout", json_api=False, follow_redirects=False).status_code == 303
    page = copy.get("/").text
    assert ">ada<" not in page and 'href="/login"' in page
    assert ada.csrf not in page


def test_hostile_text_cannot_forge_a_slot(app):
    """A comment that carries a slot's marker is sanitised and escaped like any text: the fill
    leaves it be, and the page is the one rendered for the reader alone."""
    mallory, eve = reader(app, "mallory"), reader(app, "eve")
    forged = "<!--0123456789abcdef:0--> &lt;!--0123456789abcdef:1--&gt; `<!--0123456789abcdef:2-->`"
    assert mallory.post(f"/papers/{PAPER}/comments", {"body": forged}).status_code == 201
    eve.http.get(f"/papers/{PAPER}")
    page = eve.http.get(f"/papers/{PAPER}").text
    assert "0123456789abcdef:2" in page  # shown, as text
    assert page == alone(app, eve).get(f"/papers/{PAPER}").text


def test_pages_without_the_page_cache_render_for_each_reader(catalog):
    app = create_app(settings_for(catalog), database=catalog, clock=lambda: NOW, page_cache=False)
    visitor = reader(app, "ada")
    assert ">ada<" in visitor.http.get("/").text
    assert getattr(app.state, "reader_pages", None) is None


def test_a_follow_shows_at_once_on_the_author_page(app, ada):
    """Author pages are rendered for their reader (not shared): a follow shows on the next one."""
    author = "/authors/Ada%20Lovelace"
    assert 'aria-pressed="false" data-testid="follow"' in ada.http.get(author).text
    answer = ada.post("/follows", {"kind": "author", "name": "Ada Lovelace", "on": "1"})
    assert answer.status_code == 200 and answer.json()["following"] is True
    assert 'aria-pressed="true" data-testid="follow"' in ada.http.get(author).text


def test_a_vote_through_one_worker_reaches_another_workers_shared_page(catalog):
    """Two apps with their own engines on one database, as two worker processes: a reader's vote
    through the first changes the count on the other reader's filled page in the second, and the
    voter's own button there, within the staleness the page cache documents (on PostgreSQL: once
    the notification has arrived; no sleeps, a wait on the listener's condition)."""
    other_worker = Database(catalog.url)  # its own engine and pool
    first = build_app(settings_for(catalog), catalog, clock=lambda: NOW)
    second = build_app(settings_for(other_worker), other_worker, clock=lambda: NOW)
    try:
        with TestClient(first, base_url="http://testserver") as one, TestClient(second, base_url="http://testserver") as two:
            voter, reader_ = Visitor(one), Visitor(two)
            voter.sign_up("ada")
            reader_.sign_up("grace")
            watching = second.state.content_version
            if isinstance(watching, ListeningReader):
                assert watching.wait_until(lambda r: r.listening, WAIT)
            before = count(two.get("/").text, OTHER)
            hits = second.state.reader_pages.hits
            assert count(two.get("/").text, OTHER) == before and second.state.reader_pages.hits == hits + 1
            assert voter.vote(OTHER).json()["upvotes"] == before + 1
            if isinstance(watching, ListeningReader):
                with catalog.session() as session:
                    after = versions.content_version(session)
                assert watching.wait_until(lambda r: r.remembered >= after, WAIT), "no notification reached the other worker"
            grace_page = two.get("/").text
            assert count(grace_page, OTHER) == before + 1 and pressed(grace_page, OTHER) == "false"
            ada_there = TestClient(second, base_url="http://testserver", cookies=dict(one.cookies)).get("/").text
            assert pressed(ada_there, OTHER) == "true" and count(ada_there, OTHER) == before + 1
    finally:
        other_worker.dispose()
