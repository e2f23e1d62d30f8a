"""Digest settings in the real site: an account without an email address is asked for one, and
organisations and authors are picked from the catalog's names (an unknown one is refused, and the
form keeps what was typed); confirmation emails caught by a real SMTP server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from papertide.community import accounts
from papertide.digest import subscriptions
from papertide.digest.models import Subscription
from tests.catalog.helpers import NOW
from tests.digest.conftest import smtp_server  # noqa: F401  (a real SMTP server)
from tests.web.helpers import PASSWORD, Visitor, build_app, settings_for


@pytest.fixture
def site(catalog, smtp_server) -> TestClient:  # noqa: F811
    server = smtp_server()
    settings = settings_for(catalog, smtp_host="127.0.0.1", smtp_port=server.port)
    with TestClient(build_app(settings, catalog, clock=lambda: NOW), base_url="http://testserver") as client:
        client.mailbox = server.handler
        yield client


def reader(site: TestClient, username: str, email: str | None = None) -> Visitor:
    visitor = Visitor(TestClient(site.app, base_url="http://testserver"))
    assert visitor.post("/signup", {"username": username, "password": PASSWORD}).status_code == 200
    visitor.refresh_token()
    if email:  # as the link emailed at sign-up adds it (test_signup_privacy follows that link)
        with site.app.state.database.session() as session:
            accounts.add_confirmed_email(session, accounts.get_user_by_name(session, username).id, email)
    return visitor


def save(visitor: Visitor, **fields):
    data = {"frequency": "daily", "content": "interests", "max_papers": "10", **fields}
    return visitor.post("/settings/digest", data, json_api=False, follow_redirects=False)


def subscription_of(catalog, email: str) -> Subscription | None:
    return subscriptions.find(catalog, email)


def test_an_account_without_an_email_is_asked_for_one_not_told_about_none(site, catalog):
    bob = reader(site, "bob")
    page = bob.http.get("/settings/digest")
    assert page.status_code == 200 and "None" not in page.text
    assert 'data-testid="no-email"' in page.text and 'name="email" type="email" required' in page.text

    missing = save(bob, content="trending")
    assert missing.status_code == 400 and "Give the address the digest should go to." in missing.text and "None" not in missing.text
    bad = save(bob, content="trending", email="not an address")
    assert bad.status_code == 400 and 'value="not an address"' in bad.text  # kept, to be corrected

    sent = save(bob, content="trending", email="bob@example.org")
    assert sent.status_code == 200 and "Check your inbox" in sent.text
    mail = site.mailbox.wait_for(1)[0]
    assert mail.recipients == ["bob@example.org"] and "Confirm" in mail.message["Subject"]
    assert subscription_of(catalog, "bob@example.org").user_id is not None


def test_an_unknown_organisation_or_author_is_refused_and_the_form_keeps_it(site, catalog):
    ada = reader(site, "ada", "ada@example.org")
    refused = save(ada, organizations="Nowhere Labs", authors="Alan Turing\nNobody Known", topics="sparse attention")
    assert refused.status_code == 400
    assert "No organisation called “Nowhere Labs” has papers here" in refused.text
    assert "“Nobody Known” as an author" in refused.text
    assert 'value="Nowhere Labs" checked' in refused.text and 'value="Nobody Known" checked' in refused.text
    assert ">sparse attention</textarea>" in refused.text
    assert subscription_of(catalog, "ada@example.org") is None and site.mailbox.received == []


def test_names_are_stored_as_the_catalog_spells_them_and_shown_by_name(site, catalog):
    ada = reader(site, "ada", "ada@example.org")
    assert save(ada, organizations="acme ai", authors="ada LOVELACE").status_code == 200
    site.mailbox.wait_for(1)
    stored = subscription_of(catalog, "ada@example.org")
    assert (stored.follow_organizations, stored.follow_authors) == (["acme"], ["Ada Lovelace"])
    page = ada.http.get("/settings/digest").text
    assert 'value="acme" checked>Acme AI</label>' in page and 'value="Ada Lovelace" checked>Ada Lovelace</label>' in page

    # Unticking a chip (it is not sent) stops following it; the ticked ones stay.
    kept = ada.post("/settings/digest", {"frequency": "daily", "content": "both", "max_papers": "10", "organizations": "acme"},
                    json_api=False, follow_redirects=False)
    assert kept.status_code == 303
    stored = subscription_of(catalog, "ada@example.org")
    assert (stored.follow_organizations, stored.follow_authors) == (["acme"], [])


def test_the_api_refuses_unknown_names_too(site, catalog):
    answer = site.post("/api/subscriptions", json={"email": "eve@example.org", "content": "interests", "organizations": ["nowhere"]})
    assert answer.status_code == 404 and "nowhere" in answer.json()["error"]
    ok = site.post("/api/subscriptions", json={"email": "eve@example.org", "content": "interests", "organizations": ["ACME"]})
    assert ok.status_code == 202 and subscription_of(catalog, "eve@example.org").follow_organizations == ["acme"]


def test_suggestions_are_options_of_the_catalogs_names(site):
    orgs = site.get("/suggest/organizations", params={"organizations": "acm"})
    assert orgs.status_code == 200 and '<option value="Acme AI" label="acme · 3 papers">' in orgs.text
    people = site.get("/suggest/authors", params={"authors": "lovel"})
    assert '<option value="Ada Lovelace"' in people.text
    assert site.get("/suggest/authors", params={"authors": "lo"}).text.strip() == ""  # too short to ask
    assert site.get("/suggest/authors", params={"authors": "<script>"}).text.strip() == ""
    assert 'hx-get="/suggest/organizations"' in site.get("/subscribe").text  # the forms ask as you type
