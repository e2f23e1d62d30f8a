"""Logging out ends the session on the server: a copy of the cookie taken before is worthless after."""

from __future__ import annotations

from fastapi.testclient import TestClient

from papertide.web.security import SESSION_COOKIE
from tests.web.helpers import Visitor


def test_a_copied_cookie_no_longer_works_after_logging_out(app):
    browser = Visitor(TestClient(app, base_url="http://testserver"))
    browser.sign_up("ada")
    assert browser.vote("2508.00001").json()["voted"] is True
    stolen = browser.http.cookies.get(SESSION_COOKIE)
    assert stolen

    copy = TestClient(app, base_url="http://testserver")
    copy.cookies.set(SESSION_COOKIE, stolen)
    assert copy.get("/api/session").json()["user"]["name"] == "ada"  # the copy works while the session lives

    assert browser.post("/logout").status_code == 200
    replay = TestClient(app, base_url="http://testserver")
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get("/api/session").json()["user"] is None
    account_page = replay.get("/account", follow_redirects=False)
    assert account_page.status_code == 303 and account_page.headers["location"].startswith("/login")


def test_logging_out_ends_only_this_session(app):
    laptop = Visitor(TestClient(app, base_url="http://testserver"))
    laptop.sign_up("ada")
    phone = Visitor(TestClient(app, base_url="http://testserver"))
    phone.log_in("ada")
    assert phone.post("/logout").status_code == 200
    assert laptop.http.get("/api/session").json()["user"]["name"] == "ada"
    assert phone.http.get("/api/session").json()["user"] is None


def test_signing_out_everywhere_else_ends_the_other_sessions_on_the_server(app):
    laptop = Visitor(TestClient(app, base_url="http://testserver"))
    laptop.sign_up("ada")
    phone = Visitor(TestClient(app, base_url="http://testserver"))
    phone.log_in("ada")
    stolen = phone.http.cookies.get(SESSION_COOKIE)
    assert laptop.post("/account/sessions/end").status_code == 200
    replay = TestClient(app, base_url="http://testserver")
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get("/api/session").json()["user"] is None
    assert laptop.http.get("/api/session").json()["user"]["name"] == "ada"
