"""Moderation in the real site: hiding and blocking ask first, with a reason that is kept and
shown; the audit trail names who did what to what."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.helpers import Visitor, make_admin

HTMX = {"HX-Request": "true"}


def browser(client: TestClient) -> Visitor:
    return Visitor(TestClient(client.app, base_url="http://testserver"))


@pytest.fixture
def moderator(client, catalog) -> Visitor:
    visitor = browser(client)
    visitor.sign_up("alice")
    make_admin(catalog, "alice")
    return visitor


@pytest.mark.parametrize("path,title", [
    ("/admin/papers/2508.00001/hide", "Hide this paper?"),
    ("/admin/users/bob/block", "Block bob?"),
])
def test_hiding_and_blocking_ask_for_a_reason_first(client, moderator, path, title):
    browser(client).sign_up("bob")
    page = moderator.http.get(path)
    assert page.status_code == 200 and title in page.text
    assert re.search(r'<input id="reason" name="reason" type="text" required', page.text)
    assert f'<form class="confirm" method="post" action="{path}"' in page.text
    dialog = moderator.http.get(path, headers=HTMX)
    assert dialog.status_code == 200 and "<html" not in dialog.text and title in dialog.text
    refused = moderator.post(path)  # no reason: refused, nothing done
    assert refused.status_code == 400 and "give a reason" in refused.json()["error"]
    assert moderator.post(path, {"reason": "   "}).status_code == 400


def test_confirmations_are_for_moderators_and_for_things_that_exist(client, moderator):
    reader = browser(client)
    reader.sign_up("bob")
    assert reader.http.get("/admin/papers/2508.00001/hide").status_code == 403
    assert moderator.http.get("/admin/papers/2599.99999/hide").status_code == 404
    assert moderator.http.get("/admin/users/nobody/block").status_code == 404
    assert moderator.http.get("/admin/papers/2508.00001/delete").status_code == 404


def test_the_audit_trail_names_people_and_papers_with_the_reasons(client, moderator):
    bob = browser(client)
    bob.sign_up("bob")
    comment = bob.post("/papers/2508.00002/comments", {"body": "spam spam"}).json()["id"]
    assert moderator.post("/admin/papers/2508.00001/hide", {"reason": "duplicate of 2508.00003"}).json() == {"ok": True}
    assert moderator.post(f"/admin/comments/{comment}/hide", {"reason": "advertising"}).json() == {"ok": True}
    assert moderator.post("/admin/users/bob/block", {"reason": "spam account"}).json() == {"ok": True}
    page = moderator.http.get("/admin").text
    lines = [re.sub(r"<[^>]+>", "", line).strip() for line in re.findall(r'data-testid="audit-entry">(.*?)</p>', page)]
    assert lines == [
        "alice blocked bob",
        "alice removed bob&#39;s comment on «Diffusion models for protein design»",
        "alice hid «Sparse attention for long context»",
    ]
    for reason in ("Reason: duplicate of 2508.00003", "Reason: advertising", "Reason: spam account"):
        assert reason in page
    assert 'href="/papers/2508.00002#comment-' in page and "user 2" not in page and "paper " not in page.split("Audit trail")[1]
    assert "blocked: spam account" in page  # and beside the name in the users' table
    hidden = moderator.http.get("/papers/2508.00001").text
    assert "hidden from lists: duplicate of 2508.00003" in hidden
