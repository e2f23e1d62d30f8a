"""The form and htmx endpoints as a browser uses them: redirects, flashes and HTML fragments."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.ingest.conftest import replay  # noqa: F401  (the local server replaying recorded arXiv answers)
from tests.catalog.helpers import make_record
from tests.web.helpers import PASSWORD, Visitor, make_admin


def form(visitor: Visitor, path: str, data: dict | None = None, **kwargs):
    """A plain HTML form post (no JSON, no htmx), following the redirect like a browser."""
    return visitor.post(path, data, json_api=False, **kwargs)


def vote_button(html: str) -> tuple[str, str]:
    """(aria-pressed of the button, the count shown) in a vote fragment."""
    pressed = re.search(r'<button[^>]*aria-pressed="(\w+)"', html).group(1)
    count = re.search(r'data-testid="votes-[^"]+"[^>]*>([^<]*)<', html).group(1)
    return pressed, count


def test_sign_up_error_comes_back_as_a_message_on_the_form(client):
    visitor = Visitor(client)
    answer = form(visitor, "/signup", {"username": "x", "password": PASSWORD})
    assert answer.url.path == "/signup" and "A username is 3 to 40 characters" in answer.text
    visitor.sign_up("grace")
    taken = form(Visitor(TestClient(client.app, base_url="http://testserver")), "/signup",
                 {"username": "Grace", "password": PASSWORD})
    assert taken.url.path == "/signup" and "The username &#39;Grace&#39; is taken" in taken.text  # escaped quote


def test_form_vote_redirects_back_and_htmx_vote_swaps_the_button(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    back = form(visitor, "/papers/2508.00001/vote", {"next": "/?date=2025-08-18"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/?date=2025-08-18#paper-2508.00001"  # at its card
    fragment = visitor.post("/papers/2508.00001/vote", json_api=False, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<form")
    assert vote_button(fragment.text) == ("false", "5")
    again = visitor.post("/papers/2508.00001/vote", json_api=False, headers={"HX-Request": "true"})
    assert vote_button(again.text) == ("true", "6")


def test_htmx_errors_do_not_swap(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    answer = visitor.post("/papers/2508.99999/vote", json_api=False, headers={"HX-Request": "true"})
    assert answer.status_code == 404 and answer.headers["hx-reswap"] == "none"
    assert "no paper" in answer.text


def test_comment_form_and_fragment(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    page = form(visitor, "/papers/2508.00001/comments", {"body": "**Great** paper"})
    assert page.url.path == "/papers/2508.00001" and "<strong>Great</strong> paper" in page.text
    fragment = visitor.post("/papers/2508.00001/comments", {"body": "second"}, json_api=False,
                            headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<li") and "<p>second</p>" in fragment.text


def test_submit_from_the_catalog_and_by_fetching(client):
    fetched = []

    def fetch(arxiv_id):
        fetched.append(arxiv_id)
        return make_record(arxiv_id, "A paper arXiv knows", day=None)

    client.app.state.fetch_paper = fetch
    visitor = Visitor(client)
    visitor.sign_up("ada")
    page = form(visitor, "/submit", {"arxiv_id": "https://arxiv.org/abs/2508.00007v1"})
    assert page.url.path == "/papers/2508.00007" and "is on the daily list of 2025-08-21" in page.text
    new = visitor.post("/submit", {"arxiv_id": "2508.40000"})
    assert new.status_code == 201 and new.json() == {"id": "2508.40000", "fetched": True, "date": "2025-08-21"}
    assert fetched == ["2508.40000"]
    again = form(visitor, "/submit", {"arxiv_id": "2508.40000"})
    assert again.status_code == 409 and again.url.path == "/submit" and "already on the" in again.text
    assert '<a href="/?date=2025-08-21#paper-2508.40000" data-testid="listed-link">daily list of 2025-08-21</a>' in again.text
    assert 'value="2508.40000"' in again.text  # the field keeps what was typed
    daily = client.get("/api/daily_papers", params={"date": "2025-08-21"}).json()
    assert {"2508.00007", "2508.40000"} <= {i["paper"]["id"] for i in daily}
    assert next(i for i in daily if i["paper"]["id"] == "2508.40000")["submittedBy"]["name"] == "ada"


def test_moderators_hide_and_unhide_papers_and_comments(client, catalog):
    author = Visitor(TestClient(client.app, base_url="http://testserver"))
    author.sign_up("ada")
    comment_id = author.post("/papers/2508.00001/comments", {"body": "off topic"}).json()["id"]
    moderator = Visitor(client)
    moderator.sign_up("mod")
    assert author.post("/admin/papers/2508.00001/hide").status_code == 403  # not a moderator
    make_admin(catalog, "mod")
    assert moderator.post("/admin/papers/2508.00001/hide", {"reason": "spam"}).json() == {"ok": True}
    anonymous = TestClient(client.app, base_url="http://testserver")
    assert anonymous.get("/api/papers/2508.00001").status_code == 404
    assert anonymous.get("/papers/2508.00001").status_code == 404
    moderator.post("/admin/papers/2508.00001/unhide")
    assert anonymous.get("/api/papers/2508.00001").status_code == 200
    removed = moderator.post(f"/admin/comments/{comment_id}/hide", {"reason": "off topic"}, json_api=False,
                             headers={"HX-Request": "true"})
    assert removed.status_code == 200 and "removed by a moderator: off topic" in removed.text
    assert [(c["state"], c["body"], c["removedReason"]) for c in anonymous.get("/api/papers/2508.00001/comments").json()] \
        == [("removed", "", "off topic")]
    admin_page = client.get("/admin")
    assert admin_page.status_code == 200 and "spam" in admin_page.text  # the audit log shows the reason


def test_unknown_moderation_actions_are_not_found(client, catalog):
    moderator = Visitor(client)
    moderator.sign_up("mod")
    make_admin(catalog, "mod")
    for path in ("/admin/papers/2508.00001/delete", "/admin/comments/abc/hide", "/admin/planets/mars/hide"):
        assert moderator.post(path).status_code == 404
    assert moderator.post("/admin/users/nobody/block").status_code == 404


def test_submitting_an_unknown_paper_fetches_it_with_the_real_arxiv_client(client, replay):
    """The submit form, the community service and the arXiv client end to end, against arXiv's
    recorded answer for 1605.08386 served over real HTTP on 127.0.0.1."""
    from functools import partial

    from papertide.ingest.arxiv_api import fetch_paper
    from papertide.ingest.http import PoliteFetcher
    from tests.ingest.test_arxiv_api import API, atom, lookup_params

    replay.route(API, lookup_params("1605.08386", 1), atom("id_1605.08386_s0_m100_199195aa31ad"))
    client.app.state.fetch_paper = partial(fetch_paper, api_url=replay.url + API, fetcher=PoliteFetcher(delay=0))
    visitor = Visitor(client)
    visitor.sign_up("ada")
    answer = visitor.post("/submit", {"arxiv_id": "arXiv:1605.08386"})
    assert answer.status_code == 201 and answer.json()["fetched"] is True
    paper = client.get("/api/papers/1605.08386").json()
    assert paper["title"] and paper["authors"] and paper["summary"]
    assert len(replay.requests) == 1
