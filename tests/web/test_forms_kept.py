"""Forms keep what was typed: a refused sign-up keeps the username and email, a refused log-in the
username; a password is never sent back. Blocked people are told so, but only after the right
password. The account page sets the address password resets go to."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from papertide.community import accounts
from tests.web.helpers import PASSWORD, Visitor, make_admin

SECRET_TYPED = "my secret passphrase 42"


def browser(client: TestClient) -> Visitor:
    return Visitor(TestClient(client.app, base_url="http://testserver"))


def form(visitor: Visitor, path: str, data: dict):
    return visitor.post(path, data, json_api=False)


def field_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return value.group(1) if value else None


def test_a_taken_username_keeps_the_username_and_email_but_never_the_password(client):
    browser(client).sign_up("grace")
    visitor = browser(client)
    taken = form(visitor, "/signup", {"username": "Grace", "email": "grace@example.org", "password": SECRET_TYPED,
                                      "next": "/papers/2508.00001"})
    assert taken.status_code == 409 and "The username &#39;Grace&#39; is taken" in taken.text
    assert field_value(taken.text, "username") == "Grace" and field_value(taken.text, "email") == "grace@example.org"
    assert field_value(taken.text, "password") is None and SECRET_TYPED not in taken.text
    assert field_value(taken.text, "next") == "/papers/2508.00001"  # and where to go afterwards
    weak = form(visitor, "/signup", {"username": "hopper", "email": "hopper@example.org", "password": "short"})
    assert weak.status_code == 400 and field_value(weak.text, "username") == "hopper" and "short" not in weak.text.split("<main")[1]


def test_a_wrong_password_keeps_the_username(client):
    browser(client).sign_up("ada")
    visitor = browser(client)
    wrong = form(visitor, "/login", {"username": "ada", "password": SECRET_TYPED})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    assert field_value(wrong.text, "username") == "ada" and SECRET_TYPED not in wrong.text
    assert re.search(r'id="password"[^>]*autofocus', wrong.text)  # straight to the field to retype
    json_wrong = visitor.post("/login", {"username": "ada", "password": SECRET_TYPED})
    assert json_wrong.status_code == 401 and json_wrong.json() == {"error": "wrong username or password"}


def test_a_blocked_user_is_told_so_after_the_right_password_only(client, catalog):
    browser(client).sign_up("troll")
    moderator = browser(client)
    moderator.sign_up("mod")
    make_admin(catalog, "mod")
    assert moderator.post("/admin/users/troll/block", {"reason": "spam links"}).json() == {"ok": True}
    visitor = browser(client)
    guessed = form(visitor, "/login", {"username": "troll", "password": "a wrong guess"})
    unknown = form(visitor, "/login", {"username": "nobody-here", "password": "a wrong guess"})
    assert guessed.status_code == unknown.status_code == 401
    assert "Wrong username or password" in guessed.text and "blocked" not in guessed.text
    right = form(visitor, "/login", {"username": "troll", "password": PASSWORD})
    assert right.status_code == 403 and "This account is blocked by the moderators: spam links" in right.text
    assert visitor.http.get("/api/session").json()["user"] is None  # and not logged in


def test_the_account_page_clears_the_address_with_the_password(client, catalog):
    """Setting a new address goes through the link emailed to it (test_signup_privacy)."""
    ada = browser(client)
    ada.sign_up("ada")
    assert "None yet" in ada.http.get("/account").text
    with catalog.session() as session:
        accounts.add_confirmed_email(session, accounts.get_user_by_name(session, "ada").id, "ada@example.org")
    assert 'data-testid="account-email">ada@example.org<' in ada.http.get("/account").text
    wrong = ada.post("/account/email", {"email": "", "current_password": "not it"})
    assert wrong.status_code == 403
    assert ada.post("/account/email", {"email": "", "current_password": PASSWORD}).json() == {"email": None}
    with catalog.session() as session:
        assert accounts.email_of(session, accounts.get_user_by_name(session, "ada").id) is None