"""Comment threads over HTTP: replies one level deep, editing within the window (with an injected
clock), deleting one's own, moderators' removal with a reason; as JSON, htmx fragments and plain
forms, on the real app and database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.catalog.models import Paper
from papertide.community import comments
from papertide.community.models import Comment
from tests.catalog.helpers import NOW
from tests.web.helpers import Clock, Visitor, build_app, make_admin, settings_for

PAPER = "2508.00001"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def site(catalog, clock) -> TestClient:
    with TestClient(build_app(settings_for(catalog), catalog, clock=clock), base_url="http://testserver") as client:
        yield client


def person(site: TestClient, name: str) -> Visitor:
    visitor = Visitor(TestClient(site.app, base_url="http://testserver"))
    visitor.sign_up(name)
    return visitor


def post(visitor: Visitor, body: str, parent: int | None = None) -> int:
    answer = visitor.post(f"/papers/{PAPER}/comments", {"body": body, **({"parent_id": parent} if parent else {})})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def api_thread(site: TestClient) -> list[tuple]:
    return [(c["id"], c["parentId"], c["state"], c["body"]) for c in site.get(f"/api/papers/{PAPER}/comments").json()]


def form_tag(html: str, css_class: str) -> str:
    """The opening tag of the form with ``css_class``."""
    return re.search(rf'<form class="{css_class}"[^>]*>', html).group(0)


def comment_count(catalog) -> int:
    with catalog.session() as session:
        return session.scalar(select(Paper.comment_count).where(Paper.arxiv_id == PAPER))


def test_a_reply_to_a_reply_joins_the_top_level_comment(site):
    ada, bob = person(site, "ada"), person(site, "bob")
    top = post(ada, "Does this scale past 1M tokens?")
    reply = post(bob, "It does, see table 3.", parent=top)
    answer = post(ada, "Thanks!", parent=reply)
    assert api_thread(site) == [(top, None, "shown", "Does this scale past 1M tokens?"),
                                (reply, top, "shown", "It does, see table 3."), (answer, top, "shown", "Thanks!")]
    page = site.get(f"/papers/{PAPER}").text
    replies = page[page.index(f'id="replies-{top}"'):]
    assert replies.index(f'id="comment-{reply}"') < replies.index(f'id="comment-{answer}"')
    other_paper = bob.post("/papers/2508.00002/comments", {"body": "wrong thread", "parent_id": top})
    assert other_paper.status_code == 400 and "not on this paper" in other_paper.json()["error"]


def test_an_htmx_reply_is_the_reply_alone_and_a_bad_one_swaps_nothing(site):
    ada = person(site, "ada")
    top = post(ada, "first")
    fragment = ada.post(f"/papers/{PAPER}/comments", {"body": "a reply", "parent_id": top}, json_api=False, headers=HTMX)
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<li") and 'class="comment comment-shown reply"' in fragment.text
    empty = ada.post(f"/papers/{PAPER}/comments", {"body": "  ", "parent_id": top}, json_api=False, headers=HTMX)
    assert empty.status_code == 400 and empty.headers["hx-reswap"] == "none"


def test_authors_edit_within_the_window_and_the_comment_says_edited(site, clock):
    ada, bob = person(site, "ada"), person(site, "bob")
    top = post(ada, "Fist draft")
    assert bob.post(f"/comments/{top}/edit", {"body": "vandalised"}).status_code == 403  # not bob's
    assert 'data-testid="edit-comment"' not in bob.http.get(f"/papers/{PAPER}").text

    clock.now = NOW + comments.EDIT_WINDOW - timedelta(seconds=1)
    edited = ada.post(f"/comments/{top}/edit", {"body": "First draft, **fixed**"})
    assert edited.status_code == 200 and "<strong>fixed</strong>" in edited.json()["html"]
    page = site.get(f"/papers/{PAPER}").text
    assert "First draft, <strong>fixed</strong>" in page and 'data-testid="edited"' in page and "vandalised" not in page

    clock.now = NOW + comments.EDIT_WINDOW + timedelta(seconds=1)
    late = ada.post(f"/comments/{top}/edit", {"body": "too late"})
    assert late.status_code == 403 and "15 minutes" in late.json()["error"]
    assert ada.http.get(f"/comments/{top}/edit", headers={"Accept": "application/json"}).status_code == 403
    assert 'data-testid="edit-comment"' not in ada.http.get(f"/papers/{PAPER}").text  # the button is gone too


def test_an_unchanged_edit_is_not_marked_edited(site):
    ada = person(site, "ada")
    top = post(ada, "same words")
    ada.post(f"/comments/{top}/edit", {"body": "same words\n"})
    assert 'data-testid="edited"' not in site.get(f"/papers/{PAPER}").text


def test_edit_by_htmx_and_by_plain_form_keep_what_was_typed_on_refusal(site):
    ada = person(site, "ada")
    top = post(ada, "original")
    editing = ada.http.get(f"/comments/{top}/edit", headers=HTMX)
    assert editing.status_code == 200 and 'data-testid="edit-form"' in editing.text and ">original</textarea>" in editing.text
    page = ada.http.get(f"/comments/{top}/edit")  # without JavaScript: a page of its own
    assert page.status_code == 200 and "<h1>Edit your comment</h1>" in page.text
    assert "hx-post" not in form_tag(page.text, "edit-form")  # a plain form: it posts and comes back
    refused = ada.post(f"/comments/{top}/edit", {"body": "x" * (comments.MAX_COMMENT + 1)}, json_api=False)
    assert refused.status_code == 400 and "at most 5,000 characters" in refused.text and "x" * 200 in refused.text
    saved = ada.post(f"/comments/{top}/edit", {"body": "better"}, json_api=False, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/papers/{PAPER}#comment-{top}"


def test_deleting_ones_own_comment_leaves_a_placeholder_only_while_it_has_replies(site, catalog):
    ada, bob = person(site, "ada"), person(site, "bob")
    lonely = post(ada, "nobody answers this")
    top = post(ada, "a question")
    reply = post(bob, "an answer", parent=top)
    assert comment_count(catalog) == 3
    assert bob.post(f"/comments/{top}/delete").status_code == 403  # not bob's

    assert ada.post(f"/comments/{lonely}/delete").json() == {"ok": True}
    gone = ada.post(f"/comments/{top}/delete", json_api=False, headers=HTMX)
    assert gone.status_code == 200 and 'data-state="deleted"' in gone.text and "an answer" in gone.text
    assert api_thread(site) == [(top, None, "deleted", ""), (reply, top, "shown", "an answer")]
    authors = [c["author"] and c["author"]["name"] for c in site.get(f"/api/papers/{PAPER}/comments").json()]
    assert authors == [None, "bob"]  # a placeholder names no one
    assert comment_count(catalog) == 1
    with catalog.session() as session:  # the text is gone from the database, not just hidden
        assert session.get(Comment, top).body == "" and session.get(Comment, top).deleted_at == NOW

    last = bob.post(f"/comments/{reply}/delete", json_api=False, headers=HTMX)
    assert last.status_code == 200 and last.text.strip() == ""  # the whole thread leaves the page
    assert api_thread(site) == [] and comment_count(catalog) == 0
    assert ada.post(f"/comments/{top}/delete").status_code == 404  # already deleted
    assert ada.post(f"/papers/{PAPER}/comments", {"body": "reply to a ghost", "parent_id": top}).status_code == 400


def test_delete_asks_first_in_a_dialog_or_on_a_page(site):
    ada = person(site, "ada")
    top = post(ada, "to be deleted")
    fragment = ada.http.get(f"/comments/{top}/delete", headers=HTMX)
    assert fragment.status_code == 200 and "Delete your comment?" in fragment.text and f'hx-target="#comment-{top}"' in fragment.text
    page = ada.http.get(f"/comments/{top}/delete")
    assert page.status_code == 200 and "<html" in page.text and "hx-post" not in form_tag(page.text, "confirm")
    assert "hx-post" in form_tag(fragment.text, "confirm")
    done = ada.post(f"/comments/{top}/delete", json_api=False)
    assert done.status_code == 200 and "Your comment is deleted." in done.text


def test_moderators_remove_a_comment_with_a_reason_shown_in_its_place(site, catalog):
    ada, mod = person(site, "ada"), person(site, "mod")
    top = post(ada, "buy cheap watches")
    assert mod.post(f"/admin/comments/{top}/hide", {"reason": "spam"}).status_code == 403  # not yet a moderator
    make_admin(catalog, "mod")
    assert mod.post(f"/admin/comments/{top}/hide").status_code == 400  # a reason is required
    assert mod.post(f"/admin/comments/{top}/hide", {"reason": "spam"}).json() == {"ok": True}

    page = site.get(f"/papers/{PAPER}").text
    assert "removed by a moderator: spam" in page and "cheap watches" not in page
    assert api_thread(site) == [(top, None, "removed", "")] and comment_count(catalog) == 0
    assert "cheap watches" in mod.http.get(f"/papers/{PAPER}").text  # moderators still read it
    assert ada.post(f"/comments/{top}/edit", {"body": "legit now"}).status_code == 403

    restored = mod.post(f"/admin/comments/{top}/unhide", json_api=False, headers=HTMX)
    assert restored.status_code == 200 and "cheap watches" in restored.text and "removed by a moderator" not in restored.text
    assert f'action="/papers/{PAPER}/comments"' in restored.text and f'href="/papers/{PAPER}#comment-{top}"' in restored.text
    assert api_thread(site) == [(top, None, "shown", "buy cheap watches")] and comment_count(catalog) == 1


def test_the_thread_markup_offers_only_what_the_viewer_may_do(site, catalog):
    ada, bob, mod = person(site, "ada"), person(site, "bob"), person(site, "mod")
    make_admin(catalog, "mod")
    top = post(ada, "mine")

    def buttons(visitor) -> set[str]:
        html = visitor.http.get(f"/papers/{PAPER}").text
        return set(re.findall(r'data-testid="(edit-comment|delete-comment|remove-comment|reply-toggle)"', html))

    assert buttons(ada) == {"edit-comment", "delete-comment", "reply-toggle"}
    assert buttons(bob) == {"reply-toggle"}
    assert buttons(mod) == {"remove-comment", "reply-toggle"}
    anonymous = site.get(f"/papers/{PAPER}").text
    assert f'id="comment-{top}"' in anonymous and "reply-toggle" not in anonymous


def test_comment_actions_need_the_csrf_token(site):
    ada = person(site, "ada")
    top = post(ada, "safe")
    for path in (f"/comments/{top}/edit", f"/comments/{top}/delete"):
        answer = ada.http.post(path, data={"body": "forged"}, headers={"Accept": "application/json"})
        assert answer.status_code == 403
    assert api_thread(site)[0][3] == "safe"
