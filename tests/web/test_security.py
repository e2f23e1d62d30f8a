"""Sessions, CSRF, security headers, rate limits and input limits, through the real app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from papertide.web import security
from tests.catalog.helpers import NOW
from tests.web.helpers import PASSWORD, Visitor, build_app, make_admin, settings_for


def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/api/daily_papers", "/feeds/daily.atom", "/papers/2508.00001", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_the_page_cache_wraps_the_security_headers_which_wrap_the_session(app):
    """The order ``web/app.py`` documents; Starlette runs the middleware added last first."""
    order = [middleware.cls.__name__ for middleware in app.user_middleware]
    assert order == ["ObservabilityMiddleware", "ReadOnlyCORSMiddleware", "HeadAsGetMiddleware", "PageCacheMiddleware",
                     "ValidatorsMiddleware", "SecurityHeadersMiddleware", "SessionMiddleware",
                     "ReaderPagesMiddleware"]


def test_session_cookie_is_httponly_samesite_and_signed(client):
    answer = Visitor(client).sign_up("ada")
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(f"{security.SESSION_COOKIE}=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # served over plain http in this test; https deployments get Secure
    value = client.cookies[security.SESSION_COOKIE]
    assert client.get("/api/session").json()["user"]["name"] == "ada"
    fresh = TestClient(client.app, base_url="http://testserver")
    for forged in (value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"), value.split(".")[0]):
        answer = fresh.get("/api/session", headers={"Cookie": f"{security.SESSION_COOKIE}={forged}"})
        assert answer.json()["user"] is None  # a tampered or unsigned cookie is no session


def test_secure_cookie_when_served_over_https(catalog):
    app = build_app(settings_for(catalog, base_url="https://papers.example"), catalog, clock=lambda: NOW)
    with TestClient(app, base_url="https://papers.example") as client:
        assert "secure" in Visitor(client).sign_up("ada").headers["set-cookie"].lower()


def test_state_changing_requests_need_the_sessions_csrf_token(client, catalog):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    token = visitor.csrf
    vote = "/papers/2508.00001/vote"
    json = {"Accept": "application/json"}
    assert client.post(vote, headers=json).status_code == 403
    assert client.post(vote, data={"csrf_token": "forged"}, headers=json).status_code == 403
    assert client.post("/api/papers/2508.00001/vote", headers=json).status_code == 403
    other = Visitor(TestClient(client.app, base_url="http://testserver"))
    other_token = other.refresh_token()
    assert client.post(vote, data={"csrf_token": other_token}, headers=json).status_code == 403  # not this session's
    assert client.post(vote, data={"csrf_token": token}, headers={**json, "Origin": "https://evil.example"}).status_code == 403
    assert client.post(vote, data={"csrf_token": token}, headers={**json, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    ok = client.post(vote, data={"csrf_token": token}, headers={**json, "Origin": "http://testserver"})
    assert ok.status_code == 200 and ok.json() == {"id": "2508.00001", "voted": True, "upvotes": 6}
    by_header = client.post("/api/papers/2508.00001/vote", headers={"X-CSRF-Token": token})
    assert by_header.json()["voted"] is False


def test_logging_in_starts_a_new_session_and_logging_out_ends_it(client, catalog):
    Visitor(TestClient(client.app, base_url="http://testserver")).sign_up("ada")
    visitor = Visitor(client)
    anonymous_token = visitor.refresh_token()
    assert visitor.log_in("ada").json() == {"username": "ada"}
    assert visitor.csrf != anonymous_token  # no session fixation
    assert client.get("/api/session").json()["user"]["name"] == "ada"
    assert visitor.post("/logout").status_code == 200
    assert client.get("/api/session").json()["user"] is None


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    Visitor(TestClient(client.app, base_url="http://testserver")).sign_up("ada")
    visitor = Visitor(client)
    for name, password in (("ada", "not the password"), ("nobody", PASSWORD)):
        answer = visitor.post("/login", {"username": name, "password": password})
        assert answer.status_code == 401 and answer.json() == {"error": "wrong username or password"}


def test_blocked_users_lose_their_session(client, catalog):
    visitor = Visitor(client)
    visitor.sign_up("troll")
    admin = Visitor(TestClient(client.app, base_url="http://testserver"))
    admin.sign_up("moderator")
    make_admin(catalog, "moderator")
    assert admin.post("/admin/users/troll/block", {"reason": "spam"}).json() == {"ok": True}
    assert client.get("/api/session").json()["user"] is None
    assert visitor.vote("2508.00001").status_code == 403  # the session, and its CSRF token, are gone


def test_anonymous_form_posts_are_sent_to_log_in(client):
    visitor = Visitor(client)
    answer = visitor.post("/papers/2508.00001/vote", json_api=False, follow_redirects=False,
                          headers={"Referer": "http://testserver/papers/2508.00001"})
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/papers/2508.00001"
    assert visitor.post("/papers/2508.00001/vote").status_code == 401
    htmx = visitor.post("/papers/2508.00001/vote", json_api=False, headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")


@pytest.mark.parametrize("target,expected", [
    ("/papers/2508.00001", "/papers/2508.00001"), ("https://evil.example/", "/"), ("//evil.example", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"),
])
def test_redirects_after_log_in_stay_on_the_site(client, target, expected):
    answer = Visitor(client).post("/signup", {"username": "ada", "password": PASSWORD, "next": target},
                                  json_api=False, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == expected


def test_failed_log_ins_are_rate_limited_per_username_and_per_address(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    for _ in range(15):  # successful log-ins do not count: a lab behind one address can all log in
        assert visitor.log_in("ada").status_code == 200
    for _ in range(10):
        assert visitor.post("/login", {"username": "ada", "password": "wrong password"}).status_code == 401
    refused = visitor.post("/login", {"username": "ada", "password": PASSWORD})  # even the right one, for now
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    for n in range(20):  # guessing across many names is limited by address
        assert visitor.post("/login", {"username": f"user{n}", "password": "guess"}).status_code == 401
    assert visitor.post("/login", {"username": "someone-else", "password": "guess"}).status_code == 429


def test_votes_comments_and_submissions_are_rate_limited(catalog):
    app = build_app(settings_for(catalog, rate_limit_scale=0.05), catalog, clock=lambda: NOW)  # 6 votes, 1 comment a minute
    with TestClient(app, base_url="http://testserver") as client:
        visitor = Visitor(client)
        visitor.sign_up("ada")
        statuses = [visitor.vote("2508.00001").status_code for _ in range(7)]
        assert statuses == [200] * 6 + [429]
        assert visitor.post("/papers/2508.00001/comments", {"body": "one"}).status_code == 201
        assert visitor.post("/papers/2508.00001/comments", {"body": "two"}).status_code == 429
        assert visitor.post("/submit", {"arxiv_id": "2508.00007"}).status_code == 201
        assert visitor.post("/submit", {"arxiv_id": "2508.00007"}).status_code == 429


def test_every_input_is_length_limited(client):
    visitor = Visitor(client)
    assert visitor.post("/signup", {"username": "a" * 101, "password": PASSWORD}).status_code == 422
    assert visitor.post("/signup", {"username": "ada", "password": "p" * 257}).status_code in (400, 422)
    visitor.sign_up("ada")
    too_long = visitor.post("/papers/2508.00001/comments", {"body": "x" * 5_001})
    assert too_long.status_code == 400 and "at most 5,000 characters" in too_long.json()["error"]
    assert visitor.post("/papers/2508.00001/comments", {"body": "x" * 20_000}).status_code == 422
    assert visitor.post("/submit", {"arxiv_id": "1" * 201}).status_code == 422
    assert client.get("/api/papers/search", params={"q": "q" * 501}).status_code == 400  # a bad query parameter
    assert client.get("/api/daily_papers", params={"date": "2" * 21}).status_code == 400
