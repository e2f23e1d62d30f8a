"""Personal API tokens: made and revoked on the account page, sent as ``Authorization: Bearer``,
stored hashed, scoped, rate-limited like their owner; with one, a script votes, comments,
submits and manages its owner's digest without a cookie or a CSRF token."""

from __future__ import annotations

import hashlib
import re

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from papertide.community.models import ApiToken, User
from tests.catalog.helpers import NOW
from tests.digest.conftest import RecordingHandler, free_port
from tests.web.helpers import PASSWORD, Visitor, build_app, make_admin, settings_for

HTML = {"accept": "text/html"}


def make_token(visitor: Visitor, scope: str = "write", name: str = "my script") -> str:
    answer = visitor.post("/account/tokens", {"name": name, "scope": scope})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def script(app, token: str) -> TestClient:
    """A client with no cookies at all, only the token."""
    return TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def owner(app) -> Visitor:
    visitor = Visitor(TestClient(app, base_url="http://testserver"))
    visitor.sign_up("ada")
    return visitor


def test_the_account_page_makes_lists_and_revokes_tokens(owner, catalog):
    page = owner.http.get("/account", headers=HTML)
    assert 'data-testid="token-form"' in page.text and 'data-testid="no-tokens"' in page.text
    made = owner.post("/account/tokens", {"name": "nightly digest", "scope": "read"}, json_api=False)
    assert made.status_code == 201
    secret = re.search(r'data-testid="new-token">(pt_[A-Za-z0-9_-]+)<', made.text).group(1)
    listed = owner.http.get("/account", headers=HTML).text
    assert "nightly digest" in listed and f"{secret[:7]}…" in listed and secret not in listed
    with catalog.session() as session:
        stored = session.scalars(select(ApiToken)).one()
        everything = " ".join(str(v) for row in session.execute(text("SELECT * FROM api_tokens")) for v in row)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in everything
    revoked = owner.post(f"/account/tokens/{stored.id}/revoke", json_api=False, follow_redirects=False)
    assert revoked.status_code == 303
    assert 'data-testid="no-tokens"' in owner.http.get("/account", headers=HTML).text


def test_with_a_write_token_a_script_votes_comments_and_submits_without_cookies_or_csrf(app, owner):
    client = script(app, make_token(owner))
    assert client.get("/api/session").json()["user"]["name"] == "ada"
    vote = client.post("/api/papers/2508.00001/vote")
    assert vote.status_code == 200 and vote.json() == {"id": "2508.00001", "voted": True, "upvotes": 6}
    comment = client.post("/api/papers/2508.00001/comments", json={"body": "Nice *work*"})
    assert comment.status_code == 201 and comment.json()["author"]["name"] == "ada"
    assert comment.json()["html"] == "<p>Nice <em>work</em></p>\n"
    reply = client.post("/api/papers/2508.00001/comments", json={"body": "me again", "parentId": comment.json()["id"]})
    assert reply.status_code == 201 and reply.json()["parentId"] == comment.json()["id"]
    submitted = client.post("/api/submissions", json={"id": "2508.00007v1"})
    assert submitted.status_code == 201 and submitted.json() == {"id": "2508.00007", "fetched": False, "date": "2025-08-21"}
    # The site's own forms take the token too, and answer JSON to it.
    form_vote = client.post("/papers/2508.00002/vote")
    assert form_vote.status_code == 200 and form_vote.json()["voted"] is True
    assert not client.cookies  # nothing needed a session


def test_with_a_write_token_a_script_manages_its_owners_digest(app, owner, catalog):
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with catalog.session() as session:
            session.execute(update(User).where(User.username == "ada").values(email="ada@example.org"))
        mailing = build_app(settings_for(catalog, smtp_port=controller.port), catalog, clock=lambda: NOW)
        web = Visitor(TestClient(mailing, base_url="http://testserver"))
        web.log_in("ada")
        client = script(mailing, make_token(web))
        assert client.get("/api/subscriptions/mine").status_code == 404
        made = client.put("/api/subscriptions/mine", json={"frequency": "weekly", "topics": ["diffusion"], "content": "both"})
        assert made.status_code == 202 and made.json()["status"] == "pending" and made.json()["email"] == "ada@example.org"
        assert handler.wait_for(1)[0].recipients == ["ada@example.org"]
        changed = client.put("/api/subscriptions/mine", json={"frequency": "daily", "max_papers": 5})
        assert changed.status_code == 200 and (changed.json()["frequency"], changed.json()["max_papers"]) == ("daily", 5)
        assert client.get("/api/subscriptions/mine").json()["frequency"] == "daily"
        assert client.delete("/api/subscriptions/mine").status_code == 204
        assert client.get("/api/subscriptions/mine").status_code == 404
    finally:
        controller.stop()


def test_a_read_token_reads_but_cannot_write(app, owner):
    client = script(app, make_token(owner, scope="read"))
    assert client.get("/api/whoami-v2").json()["auth"]["accessToken"] == {"displayName": "my script", "role": "read"}
    refused = client.post("/api/papers/2508.00001/vote")
    assert refused.status_code == 403 and "read-only" in refused.json()["error"]
    assert client.post("/papers/2508.00001/vote").status_code == 403


def test_wrong_and_revoked_tokens_are_refused_and_guessing_is_limited(app, owner, catalog):
    token = make_token(owner)
    with catalog.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert owner.post(f"/account/tokens/{token_id}/revoke").json() == {"ok": True}
    revoked = script(app, token).get("/api/session")
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"].startswith("Bearer")
    assert revoked.json()["error"]
    guesser = script(app, "pt_" + "x" * 43)
    statuses = [guesser.get("/api/papers/2508.00001").status_code for _ in range(30)]
    assert statuses == [401] * 29 + [429]  # a wrong token is a failed log-in: 30 per address, the revoked one too


def test_tokens_cannot_manage_the_account(app, owner):
    client = script(app, make_token(owner))
    assert client.post("/account/tokens", data={"name": "more", "scope": "write"}).status_code == 403
    assert client.post("/account/password", data={"current_password": PASSWORD, "new_password": "x" * 12}).status_code == 403
    assert client.post("/logout").status_code == 403


def test_a_blocked_owners_tokens_stop_working(app, owner, catalog):
    client = script(app, make_token(owner))
    admin = Visitor(TestClient(app, base_url="http://testserver"))
    admin.sign_up("moderator")
    make_admin(catalog, "moderator")
    assert admin.post("/admin/users/ada/block", {"reason": "spam"}).json() == {"ok": True}
    assert client.post("/api/papers/2508.00001/vote").status_code == 401


def test_a_token_shares_its_owners_rate_limits(catalog):
    app = build_app(settings_for(catalog, rate_limit_scale=0.05), catalog, clock=lambda: NOW)  # 6 votes a minute
    browser = Visitor(TestClient(app, base_url="http://testserver"))
    browser.sign_up("ada")
    client = script(app, make_token(browser))
    assert [browser.vote("2508.00001").status_code for _ in range(3)] == [200] * 3
    statuses = [client.post("/api/papers/2508.00001/vote").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_hugging_face_client_uses_a_token(live_server, catalog):
    from huggingface_hub import HfApi

    base_url = live_server()
    visitor = Visitor(TestClient(build_app(settings_for(catalog), catalog, clock=lambda: NOW), base_url="http://testserver"))
    visitor.sign_up("ada")
    token = make_token(visitor, scope="read")
    me = HfApi(endpoint=base_url, token=token).whoami()
    assert me["name"] == "ada" and me["auth"]["accessToken"]["role"] == "read"
