"""Password resets over HTTP, with the emails caught by a real SMTP server (aiosmtpd) and their
links followed; time moved by an injected clock."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.community import accounts, password_reset
from papertide.community.models import PasswordResetToken
from tests.catalog.helpers import NOW
from tests.digest.conftest import free_port, smtp_server  # noqa: F401  (a real SMTP server)
from tests.web.helpers import Clock, PASSWORD, Visitor, build_app, make_admin, settings_for

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://testserver(/password/reset\?token=[A-Za-z0-9_\-%]+)")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def make_site(catalog, clock, port: int, **overrides) -> TestClient:
    settings = settings_for(catalog, smtp_host="127.0.0.1", smtp_port=port, mail_from="papertide <accounts@papertide.test>",
                            **overrides)
    return TestClient(build_app(settings, catalog, clock=clock), base_url="http://testserver")


@pytest.fixture
def site(catalog, clock, smtp_server) -> TestClient:  # noqa: F811
    server = smtp_server()
    client = make_site(catalog, clock, server.port)
    client.mailbox = server.handler
    with client:
        yield client


def browser(site: TestClient) -> Visitor:
    return Visitor(TestClient(site.app, base_url="http://testserver"))


def sign_up(site: TestClient, username: str, email: str | None = None) -> Visitor:
    visitor = browser(site)
    answer = visitor.post("/signup", {"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    visitor.refresh_token()
    if email:  # as the link emailed at sign-up adds it (test_signup_privacy follows that link)
        with site.app.state.database.session() as session:
            account = accounts.get_user_by_name(session, username)
            accounts.add_confirmed_email(session, account.id, email)
    return visitor


def ask(visitor: Visitor, identifier: str, **kwargs):
    return visitor.post("/password/forgot", {"identifier": identifier}, json_api=False, **kwargs)


def link_in(mail) -> str:
    text = mail.message.get_body(("plain",)).get_content()
    return LINK.search(text).group(1)


def who(visitor: Visitor) -> str | None:
    user = visitor.http.get("/api/session").json()["user"]
    return user["name"] if user else None


def test_asking_answers_the_same_whether_or_not_the_account_exists(site):
    sign_up(site, "ada", "ada@example.org")
    sign_up(site, "bob")  # no address to write to
    asker = browser(site)
    answers = [ask(asker, identifier) for identifier in ("ada", "ADA@example.org", "bob", "nobody", "nobody@example.org")]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1  # word for word the same page
    assert "a link to choose a new password is on its way" in answers[0].text
    mails = site.mailbox.received  # the emails went out after the answers, before the calls returned
    assert [mail.recipients for mail in mails] == [["ada@example.org"], ["ada@example.org"]]
    assert mails[0].message["Subject"] == "Choose a new papertide password"
    assert mails[0].message["From"] == "papertide <accounts@papertide.test>"


def test_a_link_works_once_sets_the_password_and_ends_every_session(site, catalog):
    phone = sign_up(site, "ada", "ada@example.org")
    assert who(phone) == "ada"
    ask(browser(site), "ada")
    link = link_in(site.mailbox.wait_for(1)[0])
    token = link.split("token=")[1]
    with catalog.session() as session:  # only a digest of the token is kept
        stored = session.scalars(select(PasswordResetToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]

    laptop = browser(site)
    form = laptop.http.get(link)
    assert form.status_code == 200 and 'data-testid="reset-username">ada<' in form.text
    assert form.headers["cache-control"] == "no-store" and form.headers["referrer-policy"] == "same-origin"
    laptop.refresh_token()
    done = laptop.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD}, json_api=False,
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?username=ada"
    login_page = laptop.http.get(done.headers["location"])
    assert 'value="ada"' in login_page.text and "Your password is changed" in login_page.text

    assert who(phone) is None  # the session that was signed in is over
    assert laptop.log_in("ada", PASSWORD).status_code == 401
    assert laptop.log_in("ada", NEW_PASSWORD).status_code == 200 and who(laptop) == "ada"
    again = browser(site)
    again.refresh_token()
    reused = again.post("/password/reset", {"token": token, "new_password": "yet another passphrase"}, json_api=False)
    assert reused.status_code == 400 and "expired or was already used" in reused.text
    assert again.http.get(link).status_code == 400


def test_links_expire_and_a_refused_password_spends_nothing(site, clock):
    sign_up(site, "ada", "ada@example.org")
    ask(browser(site), "ada")
    token = link_in(site.mailbox.wait_for(1)[0]).split("token=")[1]
    visitor = browser(site)
    visitor.refresh_token()
    weak = visitor.post("/password/reset", {"token": token, "new_password": "short"}, json_api=False)
    assert weak.status_code == 400 and "A password is 8 to 256 characters" in weak.text and f'value="{token}"' in weak.text
    assert "short" not in weak.text.split("<main")[1]  # the password typed is never sent back

    clock.now = NOW + password_reset.LIFETIME - timedelta(seconds=1)
    assert visitor.http.get(f"/password/reset?token={token}").status_code == 200  # still open
    clock.now = NOW + password_reset.LIFETIME
    expired = visitor.post("/password/reset", {"token": token, "new_password": NEW_PASSWORD}, json_api=False)
    assert expired.status_code == 400 and "expired" in expired.text
    assert visitor.log_in("ada", PASSWORD).status_code == 200  # nothing changed


def test_setting_a_password_spends_every_other_open_link(site):
    sign_up(site, "ada", "ada@example.org")
    asker = browser(site)
    ask(asker, "ada")
    ask(asker, "ada@example.org")
    first, second = (link_in(mail).split("token=")[1] for mail in site.mailbox.wait_for(2))
    visitor = browser(site)
    visitor.refresh_token()
    assert visitor.post("/password/reset", {"token": second, "new_password": NEW_PASSWORD}).json() == {"username": "ada"}
    assert visitor.post("/password/reset", {"token": first, "new_password": "another passphrase"}, json_api=False).status_code == 400


def test_blocked_accounts_get_no_link(site, catalog):
    sign_up(site, "troll", "troll@example.org")
    mod = sign_up(site, "mod")
    make_admin(catalog, "mod")
    assert mod.post("/admin/users/troll/block", {"reason": "spam"}).json() == {"ok": True}
    assert ask(browser(site), "troll").status_code == 200
    assert site.mailbox.received == []


def test_asking_and_bad_links_are_rate_limited_like_logging_in(catalog, clock, smtp_server):  # noqa: F811
    server = smtp_server()
    with make_site(catalog, clock, server.port, rate_limit_scale=0.2) as site:  # limits of 2 per name, 6 per address
        sign_up(site, "ada", "ada@example.org")
        asker = browser(site)
        assert [ask(asker, "Ada").status_code for _ in range(3)] == [200, 200, 429]
        refused = ask(asker, "ada")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert 'value="ada"' in refused.text and "Too many reset attempts" in refused.text
        assert len(server.handler.received) == 2
        assert [ask(asker, f"someone{n}").status_code for n in range(5)] == [200, 200, 200, 200, 429]  # 6 per address

        clock.now = NOW + timedelta(minutes=6)  # the window has passed
        guesser = browser(site)
        guesser.refresh_token()
        statuses = [guesser.post("/password/reset", {"token": f"guess{n}", "new_password": NEW_PASSWORD}, json_api=False).status_code
                    for n in range(7)]
        assert statuses == [400] * 6 + [429]


def test_a_mail_server_that_is_down_changes_nothing_the_visitor_sees(catalog, clock):
    with make_site(catalog, clock, free_port()) as site:  # nothing listens there
        sign_up(site, "ada", "ada@example.org")
        known, unknown = ask(browser(site), "ada"), ask(browser(site), "nobody")
        assert known.status_code == unknown.status_code == 200 and known.text == unknown.text


def test_the_log_in_page_links_to_the_reset_with_what_was_typed(site):
    sign_up(site, "ada", "ada@example.org")
    visitor = browser(site)
    wrong = visitor.post("/login", {"username": "ada", "password": "not it"}, json_api=False)
    assert wrong.status_code == 401 and 'href="/password/forgot?username=ada"' in wrong.text
    form = visitor.http.get("/password/forgot?username=ada")
    assert form.status_code == 200 and 'value="ada"' in form.text
