"""Sign-up says nothing about which addresses have accounts: it answers alike, and the address
gets an email instead (a link that adds it to the new account, or a notice to the account that has
it). Real SMTP server, real links followed."""

from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.community.models import User
from tests.catalog.helpers import NOW
from tests.digest.conftest import RecordingHandler, free_port
from tests.web.helpers import PASSWORD, Visitor, build_app, settings_for


@pytest.fixture
def mailing_app(catalog):
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app = build_app(settings_for(catalog, smtp_port=controller.port), catalog, clock=lambda: NOW)
    app.state.mail = handler
    yield app
    controller.stop()


def email_of(database, username: str) -> str | None:
    with database.session() as session:
        return session.scalar(select(User.email).where(User.username == username))


def sign_up(app, username: str, email: str, *, json_api: bool = True):
    visitor = Visitor(TestClient(app, base_url="http://testserver"))
    return visitor, visitor.post("/signup", {"username": username, "password": PASSWORD, "email": email},
                                 json_api=json_api, follow_redirects=False)


def test_signing_up_with_a_registered_address_answers_like_any_other(mailing_app, catalog):
    Visitor(TestClient(mailing_app, base_url="http://testserver")).sign_up("ada")
    with catalog.session() as session:
        session.execute(update(User).where(User.username == "ada").values(email="ada@example.org"))

    _, taken = sign_up(mailing_app, "mallory", "ada@example.org")
    _, fresh = sign_up(mailing_app, "bob", "bob@example.org")
    assert (taken.status_code, taken.json()) == (200, {"username": "mallory"})
    assert (fresh.status_code, fresh.json()) == (200, {"username": "bob"})

    browser, form_taken = sign_up(mailing_app, "mallory2", "ada@example.org", json_api=False)
    other, form_fresh = sign_up(mailing_app, "bob2", "bob2@example.org", json_api=False)
    assert form_taken.status_code == form_fresh.status_code == 303
    assert form_taken.headers["location"] == form_fresh.headers["location"] == "/"
    flash_taken = browser.http.get("/").text
    flash_fresh = other.http.get("/").text
    assert "We emailed ada@example.org" in flash_taken and "We emailed bob2@example.org" in flash_fresh
    assert "exists" not in flash_taken and "taken" not in flash_taken

    mails = mailing_app.state.mail.wait_for(4)
    by_address = {tuple(m.recipients): m.message for m in mails}
    notice = by_address[("ada@example.org",)]
    assert "mallory" in notice["Subject"] + notice.get_body(preferencelist=("plain",)).get_content()
    assert "ada" in notice.get_body(preferencelist=("plain",)).get_content()
    assert email_of(catalog, "mallory") is None and email_of(catalog, "ada") == "ada@example.org"


def test_the_link_in_the_email_adds_the_address(mailing_app, catalog):
    visitor, answer = sign_up(mailing_app, "bob", "Bob@Example.org")
    assert answer.status_code == 200
    assert email_of(catalog, "bob") is None  # not before its owner clicked
    [mail] = mailing_app.state.mail.wait_for(1)
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://testserver(/account/email\?token=\S+)", text).group(1)
    page = visitor.http.get(link)
    assert page.status_code == 200 and "bob@example.org is now the address of the account bob" in page.text
    assert email_of(catalog, "bob") == "bob@example.org"
    assert visitor.http.get(link.replace("token=", "token=x")).status_code == 400


def test_a_bad_address_is_still_refused_plainly(mailing_app):
    _, answer = sign_up(mailing_app, "carol", "not-an-address")
    assert answer.status_code == 400 and "email" in answer.json()["error"]


def test_a_new_address_on_the_account_page_is_added_from_its_link(mailing_app, catalog):
    visitor, _ = sign_up(mailing_app, "carol", "")
    visitor.refresh_token()
    wrong = visitor.post("/account/email", {"email": "carol@example.org", "current_password": "not it"})
    assert wrong.status_code == 403 and mailing_app.state.mail.received == []
    asked = visitor.post("/account/email", {"email": "Carol@Example.org", "current_password": PASSWORD})
    assert asked.json() == {"email": None, "pending": "carol@example.org"}
    assert email_of(catalog, "carol") is None  # not before its owner clicked
    [mail] = mailing_app.state.mail.wait_for(1)
    link = re.search(r"http://testserver(/account/email\?token=\S+)", mail.message.get_body(preferencelist=("plain",)).get_content()).group(1)
    assert visitor.http.get(link).status_code == 200 and email_of(catalog, "carol") == "carol@example.org"
    # Another account asking for the same address answers alike; its owner gets a notice instead.
    dave, _ = sign_up(mailing_app, "dave", "")
    dave.refresh_token()
    assert dave.post("/account/email", {"email": "carol@example.org", "current_password": PASSWORD}).status_code == 200
    notice = mailing_app.state.mail.wait_for(2)[1]
    assert notice.recipients == ["carol@example.org"] and email_of(catalog, "dave") is None
