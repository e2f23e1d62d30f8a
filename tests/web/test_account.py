"""The account page: changing the password and signing out everywhere end every other session
(signed-cookie sessions carry their user's session epoch), while this one goes on."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.helpers import PASSWORD, Visitor

NEW_PASSWORD = "a new and longer passphrase"


def _device(client: TestClient) -> Visitor:
    return Visitor(TestClient(client.app, base_url="http://testserver"))


def _who(visitor: Visitor) -> str | None:
    user = visitor.http.get("/api/session").json()["user"]
    return user["name"] if user else None


def test_the_account_page_needs_a_log_in_and_shows_both_forms(client):
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/account"
    visitor = Visitor(client)
    visitor.sign_up("ada")
    page = client.get("/account")
    assert page.status_code == 200
    assert 'action="/account/password"' in page.text and 'action="/account/sessions/end"' in page.text
    assert 'href="/account"' in client.get("/").text  # the header links to it


def test_changing_the_password_signs_out_every_other_device_but_not_this_one(client):
    laptop = Visitor(client)
    laptop.sign_up("ada")
    phone = _device(client)
    phone.log_in("ada")
    assert _who(phone) == "ada"
    token_before = laptop.csrf
    answer = laptop.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    laptop.refresh_token()
    assert laptop.csrf != token_before  # a new session, as after a log-in
    assert _who(laptop) == "ada"
    assert _who(phone) is None
    assert phone.vote("2508.00001").status_code in (401, 403)  # its session and CSRF token are gone
    assert laptop.vote("2508.00001").status_code == 200
    fresh = _device(client)
    assert fresh.post("/login", {"username": "ada", "password": PASSWORD}).status_code == 401
    assert fresh.log_in("ada", NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_log_in(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    other = _device(client)
    other.log_in("ada")
    wrong = visitor.post("/account/password", {"current_password": "not my password", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403 and wrong.json() == {"error": "the current password is wrong"}
    weak = visitor.post("/account/password", {"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 400 and "8" in weak.json()["error"]
    assert _who(other) == "ada"  # nothing happened: no session ended
    assert _device(client).log_in("ada").status_code == 200  # the old password still works
    for _ in range(9):
        visitor.post("/account/password", {"current_password": "guess", "new_password": NEW_PASSWORD})
    limited = visitor.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


def test_sign_out_everywhere_else_keeps_only_this_session(client):
    laptop = Visitor(client)
    laptop.sign_up("ada")
    phones = [_device(client) for _ in range(3)]
    for phone in phones:
        phone.log_in("ada")
    bob = _device(client)
    bob.sign_up("bob")
    assert laptop.post("/account/sessions/end").json() == {"ok": True}
    laptop.refresh_token()
    assert _who(laptop) == "ada"
    assert [_who(phone) for phone in phones] == [None, None, None]
    assert _who(bob) == "bob"  # another person's sessions are untouched
    again = phones[0]
    again.refresh_token()  # its old token went with its session: the log-in page gives a new one
    assert again.log_in("ada").status_code == 200 and _who(again) == "ada"  # logging in again works


def test_account_forms_need_the_csrf_token(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    json = {"Accept": "application/json"}
    assert client.post("/account/sessions/end", headers=json).status_code == 403
    assert client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "csrf_token": "forged"}, headers=json).status_code == 403
    assert _who(visitor) == "ada"


def test_the_plain_form_redirects_back_with_a_message(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    answer = visitor.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                          json_api=False, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    page = client.get("/account")
    assert "Password changed" in page.text
