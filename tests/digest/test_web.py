"""The digest pages and API served for real (uvicorn on loopback), driven over HTTP, with the
emails they cause caught by a real SMTP server and their links followed."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from papertide.community.models import User
from papertide.digest import subscriptions
from papertide.digest.models import Subscription
from papertide.digest.periods import DigestPeriod
from papertide.digest.run import DeliveryPolicy, run_digests
from papertide.orm import utcnow
from papertide.web import digest, security
from papertide.web.session import current_user

from .conftest import MONDAY, SmtpServer, confirmed, free_port, make_settings

NO_WAIT = DeliveryPolicy(retry_window=timedelta(0))


def user_from_state(request: Request):
    return request.state.user


def make_app(database, settings) -> FastAPI:
    """The router on a small app of its own, with the site's session layer (its forms carry the
    site's CSRF token). The middleware stands in for logging in: it puts the User named by a
    cookie on ``request.state.user``, read by the overridden ``current_user`` dependency."""
    app = FastAPI()
    app.include_router(digest.router)
    app.state.database, app.state.settings = database, settings
    app.dependency_overrides[current_user] = user_from_state
    security.install(app, settings)

    @app.middleware("http")
    async def logged_in_user(request, call_next):
        username = request.cookies.get("test_user")
        request.state.user = None
        if username:
            with database.session() as session:
                request.state.user = session.query(User).filter_by(username=username).one_or_none()
        return await call_next(request)

    return app


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # readiness, not a fixed delay
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def site(papers, sink):
    port = free_port()
    settings = make_settings(papers, sink.port, base_url=f"http://127.0.0.1:{port}")
    with serving(make_app(papers, settings), port) as base_url, httpx.Client(base_url=base_url, timeout=20) as client:
        yield Site(papers, settings, sink, client, base_url)


class Site:
    def __init__(self, database, settings, sink: SmtpServer, client: httpx.Client, base_url: str):
        self.database, self.settings, self.sink, self.client, self.base_url = database, settings, sink, client, base_url

    def csrf(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def subscribe(self, email: str, **fields) -> httpx.Response:
        data = {"csrf_token": self.csrf("/subscribe"), "email": email, "frequency": "daily", "content": "trending",
                "max_papers": "10", **fields}
        return self.client.post("/subscribe", data=data)

    def mails_to(self, address: str):
        return [r.message for r in self.sink.handler.received if r.recipients == [address]]

    def run(self, period: DigestPeriod = MONDAY, **kwargs):
        return run_digests(self.database, self.settings, period, policy=NO_WAIT, **kwargs)

    def subscription(self, email: str) -> Subscription:
        return subscriptions.find(self.database, email)


def links(message) -> list[str]:
    body = message.get_body(preferencelist=("html",)).get_content()
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', body)]


def text_link(message, marker: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return next(word for word in body.split() if marker in word)


def test_subscribe_confirm_receive_manage_and_one_click_unsubscribe(site):
    answer = site.subscribe("Ada@Example.org", content="both", topics="agents\nvideo generation", max_papers="5")
    assert answer.status_code == 200 and "Check your inbox" in answer.text

    [confirmation] = site.sink.handler.wait_for(1)
    assert confirmation.recipients == ["Ada@example.org"]  # domain part normalised
    assert site.run().sent == 0  # nothing before confirmation
    confirm_url = text_link(confirmation.message, "/subscribe/confirm?token=")
    assert confirm_url.startswith(site.base_url) and confirm_url in links(confirmation.message)

    page = site.client.get(confirm_url)
    assert page.status_code == 200 and "You are subscribed" in page.text
    assert site.subscription("Ada@example.org").status == "confirmed"
    assert site.client.get(confirm_url).status_code == 200  # a second click changes nothing

    assert site.run().sent == 1
    [digest] = site.mails_to("Ada@example.org")[1:]
    text = digest.get_body(preferencelist=("plain",)).get_content()
    assert text.count("/papers/") == 5
    assert re.search(r"agent", text.split("\n", 3)[-1], re.IGNORECASE)  # interests come first
    paper_links = [url for url in links(digest) if "/papers/" in url]
    assert len(paper_links) == 5 and all(url.startswith(f"{site.base_url}/papers/") for url in paper_links)

    preferences_url = next(url for url in links(digest) if "/settings/digest?token=" in url)
    form = site.client.get(preferences_url)
    assert form.status_code == 200 and "agents" in form.text and "video generation" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    saved = site.client.post(preferences_url, data={
        "csrf_token": token, "frequency": "weekly", "content": "interests", "topics": "agents", "organizations": "google",
        "authors": "", "max_papers": "3",
    })
    assert saved.status_code == 303
    stored = site.subscription("Ada@example.org")
    assert (stored.frequency, stored.content, stored.topics, stored.follow_organizations, stored.max_papers) == (
        "weekly", "interests", ["agents"], ["google"], 3)

    unsubscribe_url = digest["List-Unsubscribe"].strip("<>")
    assert site.client.get(unsubscribe_url).status_code == 200  # a page with a button...
    assert site.subscription("Ada@example.org").status == "confirmed"  # ...that changed nothing
    one_click = httpx.post(unsubscribe_url, data={"List-Unsubscribe": "One-Click"})  # as a mail client does: no cookie
    assert one_click.status_code == 200
    assert site.subscription("Ada@example.org").status == "unsubscribed"
    assert site.run(DigestPeriod.from_key("weekly:2026-W34")).sent == 0


def test_forms_without_a_valid_csrf_token_are_refused(site):
    site.client.get("/subscribe")
    for token in (None, "forged"):
        data = {"email": "mallory@example.org", **({"csrf_token": token} if token else {})}
        assert site.client.post("/subscribe", data=data).status_code == 403
    assert site.subscription("mallory@example.org") is None and not site.sink.handler.received


def test_bad_input_is_explained_and_nothing_is_stored(site):
    bad_email = site.subscribe("not-an-address")
    assert bad_email.status_code == 400 and "does not look right" in bad_email.text
    no_interests = site.subscribe("bob@example.org", content="interests")
    assert no_interests.status_code == 400 and "at least one topic" in no_interests.text
    hostile = site.subscribe('<script>alert(1)</script>@example.org')
    assert hostile.status_code == 400 and "<script>alert" not in hostile.text
    assert subscriptions.listing(site.database) == [] and not site.sink.handler.received


def test_resubmitting_neither_floods_the_inbox_nor_reveals_or_changes_a_subscription(site):
    assert "Check your inbox" in site.subscribe("carol@example.org").text
    assert "Check your inbox" in site.subscribe("carol@example.org").text
    assert len(site.sink.handler.wait_for(1)) == 1  # rate-limited: one confirmation
    [confirmation] = site.mails_to("carol@example.org")
    site.client.get(text_link(confirmation, "/subscribe/confirm?token="))

    with site.database.session() as session:  # as if the last email went out long ago
        session.get(Subscription, site.subscription("carol@example.org").id).confirmation_sent_at = utcnow() - timedelta(days=1)
    again = site.subscribe("carol@example.org", frequency="weekly", max_papers="1")
    assert "Check your inbox" in again.text  # the same answer as for a new address
    reminder = site.sink.handler.wait_for(2)[-1].message
    assert "already subscribed" in reminder["Subject"]
    stored = site.subscription("carol@example.org")
    assert (stored.status, stored.frequency, stored.max_papers) == ("confirmed", "daily", 10)


def test_broken_expired_or_cross_purpose_links_are_refused(site):
    site.subscribe("dan@example.org")
    [confirmation] = site.sink.handler.wait_for(1)
    confirm_url = text_link(confirmation.message, "/subscribe/confirm?token=")
    token = confirm_url.split("token=")[1]
    assert site.client.get(confirm_url[:-2]).status_code == 400
    assert site.client.post(f"/unsubscribe?token={token}").status_code == 400  # a confirm token cannot unsubscribe
    from papertide.digest.tokens import DigestTokens, InvalidToken

    with pytest.raises(InvalidToken, match="expired"):
        DigestTokens(site.settings.secret_key).read_confirm(token, max_age=-1)
    assert site.subscription("dan@example.org").status == "pending"


def test_api_subscription_is_double_opt_in(site):
    accepted = site.client.post("/api/subscriptions", json={"email": "eve@example.org", "frequency": "weekly",
                                                             "topics": ["diffusion"], "content": "both"})
    assert accepted.status_code == 202 and accepted.json()["status"] == "confirmation_sent"
    assert site.sink.handler.wait_for(1)[0].recipients == ["eve@example.org"]
    assert site.subscription("eve@example.org").status == "pending"
    assert site.client.post("/api/subscriptions", json={"email": "eve@", "frequency": "daily"}).status_code == 422
    assert site.client.post("/api/subscriptions", json={"email": "x@example.org", "max_papers": 500}).status_code == 422


def test_subscribing_while_the_mail_server_is_down_says_so_and_can_be_retried(site):
    site.sink.stop()
    down = site.subscribe("fay@example.org")
    assert down.status_code == 503 and "try again" in down.text
    assert site.subscription("fay@example.org").status == "pending"


def test_previews_for_visitors_and_admins(site):
    with site.database.session() as session:
        session.add_all([User(username="admin", password_hash="x", is_admin=True), User(username="reader", password_hash="x")])
    [subscriber] = confirmed(site.database, 1)
    sample = site.client.get("/digest/preview")
    assert sample.status_code == 200 and "A sample daily digest" in sample.text
    assert "Friday 21 August 2026" in sample.text  # the latest day with papers
    text = site.client.get("/digest/preview", params={"format": "text"}).text
    assert text.count("/papers/") == 10 and "you@example.com" in text

    assert site.client.get("/digest/preview", params={"subscriber": subscriber}).status_code == 403
    site.client.cookies.set("test_user", "reader")
    assert site.client.get("/digest/preview", params={"subscriber": subscriber}).status_code == 403
    site.client.cookies.set("test_user", "admin")
    admin = site.client.get("/digest/preview", params={"subscriber": subscriber})
    assert admin.status_code == 200 and "Next digest for reader0@example.org" in admin.text


def test_logged_in_users_manage_their_digest_from_settings(site):
    assert site.client.get("/settings/digest").status_code == 401
    with site.database.session() as session:
        session.add(User(username="grace", email="grace@example.org", password_hash="x"))
    site.client.cookies.set("test_user", "grace")
    assert site.client.get("/subscribe").status_code == 303  # the form lives in settings for users
    page = site.client.get("/settings/digest")
    assert "You have no digest yet" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    created = site.client.post("/settings/digest", data={"csrf_token": token, "frequency": "weekly", "content": "trending",
                                                          "max_papers": "7"})
    assert "Check your inbox" in created.text
    [confirmation] = site.sink.handler.wait_for(1)
    assert confirmation.recipients == ["grace@example.org"]
    stored = site.subscription("grace@example.org")
    assert (stored.status, stored.frequency, stored.max_papers, stored.user_id is not None) == ("pending", "weekly", 7, True)
    assert "waiting for you to click" in site.client.get("/settings/digest").text
    # The site's accounts may not carry the address: the router then asks the subscriptions service.
    assert subscriptions.account_email(site.database, stored.user_id) == "grace@example.org"
