"""Failed log-ins are limited per (username, client address): a guesser locks only itself out,
never the account's owner at another address."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.helpers import PASSWORD, Visitor


def visitor_at(app, address: str) -> Visitor:
    return Visitor(TestClient(app, base_url="http://testserver", client=(address, 40000)))


def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(app):
    visitor_at(app, "192.0.2.10").sign_up("ada")
    attacker = visitor_at(app, "198.51.100.66")
    for _ in range(10):
        assert attacker.post("/login", {"username": "ada", "password": "guess"}).status_code == 401
    refused = attacker.post("/login", {"username": "ada", "password": "guess"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["ratelimit-limit"] == "10" and refused.headers["ratelimit-policy"] == "10;w=300"
    assert refused.headers["ratelimit-remaining"] == "0" and int(refused.headers["ratelimit-reset"]) > 0
    assert attacker.post("/login", {"username": "ada", "password": PASSWORD}).status_code == 429  # locked: itself
    owner = visitor_at(app, "192.0.2.10")
    answer = owner.post("/login", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == 200 and answer.json() == {"username": "ada"}


def test_the_lock_cannot_be_renewed_from_elsewhere_to_keep_the_owner_out(app):
    visitor_at(app, "192.0.2.10").sign_up("ada")
    for n in range(3):  # three addresses, ten guesses each: thirty failures for one name
        attacker = visitor_at(app, f"198.51.100.{n + 1}")
        for _ in range(10):
            attacker.post("/login", {"username": "ada", "password": "guess"})
    owner = visitor_at(app, "203.0.113.5")
    assert owner.post("/login", {"username": "ada", "password": PASSWORD}).status_code == 200
