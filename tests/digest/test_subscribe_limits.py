"""Subscribing cannot be used to make the site mail strangers in bulk: requests are limited per
client address, and confirmation emails of all addresses together are capped; 429s carry
``Retry-After`` and the ``RateLimit-*`` headers. Served for real, with a real SMTP server."""

from __future__ import annotations

import httpx
import pytest

from .conftest import free_port, make_settings
from .test_web import make_app, serving


@pytest.fixture
def served(papers, sink):
    """``start(scale) -> httpx.Client`` on the digest router served by uvicorn, whose proxy
    headers let a test speak from several client addresses (X-Forwarded-For from loopback)."""
    clients: list = []

    def start(scale: float = 1.0) -> httpx.Client:
        port = free_port()
        settings = make_settings(papers, sink.port, base_url=f"http://127.0.0.1:{port}").with_changes(rate_limit_scale=scale)
        context = serving(make_app(papers, settings), port)
        base_url = context.__enter__()
        client = httpx.Client(base_url=base_url, timeout=20)
        clients.append((context, client))
        return client

    yield start
    for context, client in clients:
        client.close()
        context.__exit__(None, None, None)


def subscribe(client: httpx.Client, email: str, address: str) -> httpx.Response:
    return client.post("/api/subscriptions", json={"email": email}, headers={"X-Forwarded-For": address})


def test_one_client_address_gets_ten_subscriptions_an_hour(served, sink):
    client = served()
    for n in range(10):
        assert subscribe(client, f"stranger{n}@example.org", "198.51.100.7").status_code == 202
    refused = subscribe(client, "stranger10@example.org", "198.51.100.7")
    assert refused.status_code == 429 and refused.json()["error"]
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["ratelimit-limit"] == "10" and refused.headers["ratelimit-remaining"] == "0"
    assert int(refused.headers["ratelimit-reset"]) > 0 and refused.headers["ratelimit-policy"] == "10;w=3600"
    assert subscribe(client, "someone@example.org", "203.0.113.9").status_code == 202  # another client
    received = sink.handler.wait_for(11)
    assert len(received) == 11 and "stranger10@example.org" not in sink.handler.per_recipient()


def test_confirmation_emails_of_every_address_together_are_capped(served, sink):
    client = served(scale=0.05)  # 1 request per address, 5 confirmation emails an hour
    answers = [subscribe(client, f"reader{n}@example.org", f"198.51.100.{n + 1}").status_code for n in range(7)]
    assert answers == [202] * 5 + [429] * 2
    assert len(sink.handler.wait_for(5)) == 5
    assert set(sink.handler.per_recipient()) == {f"reader{n}@example.org" for n in range(5)}


def test_the_subscribe_form_is_limited_too(served):
    client = served(scale=0.1)  # one request per address an hour
    import re

    def form_post(email: str) -> httpx.Response:
        page = client.get("/subscribe", headers={"X-Forwarded-For": "198.51.100.20"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return client.post("/subscribe", data={"csrf_token": token, "email": email},
                           headers={"X-Forwarded-For": "198.51.100.20"})

    assert form_post("a@example.org").status_code == 200
    refused = form_post("b@example.org")
    assert refused.status_code == 429 and "Too many requests" in refused.text
    assert refused.headers["ratelimit-limit"] == "1"
