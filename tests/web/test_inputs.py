"""Numbers from URLs, forms and JSON: whole numbers in ASCII digits within bounds, finite floats,
and a 4xx with a message for anything else, never a 500."""

from __future__ import annotations

import pytest

from tests.web.helpers import Visitor, make_admin


@pytest.mark.parametrize("parent_id", ["9223372036854775808", "2147483648", "²", "١٢", "１２", "1_0", " 1", "-1", "0"])
def test_a_comment_parent_id_out_of_bounds_or_not_in_ascii_digits_is_a_4xx(client, parent_id):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    answer = visitor.post("/papers/2508.00001/comments", {"body": "hello", "parent_id": parent_id})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert answer.json()["error"]


@pytest.mark.parametrize("target", ["²", "١", "99999999999999999999", "2147483648", "-1"])
def test_moderating_a_comment_id_that_is_no_number_is_not_found(client, catalog, target):
    admin = Visitor(client)
    admin.sign_up("moderator")
    make_admin(catalog, "moderator")
    answer = admin.post(f"/admin/comments/{target}/hide", {"reason": "x"})
    assert answer.status_code == 404, (answer.status_code, answer.text[:200])


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9223372036854775808", "1.5"])
def test_non_finite_or_unbounded_numbers_in_json_are_a_4xx(client, raw):
    body = '{"email": "reader@example.org", "max_papers": %s}' % raw
    answer = client.post("/api/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert answer.json()["error"]


@pytest.mark.parametrize("path", [
    "/?p=²", "/?p=99999999999999999999999", "/?p=1_0", "/orgs/acme?p=²", "/api/daily_papers?p=²",
    "/api/daily_papers?limit=1_0", "/api/papers/search?q=a&limit=%EF%BC%91", "/api/trending?days=²",
    "/api/papers/2508.00001/similar?k=99999999999999999999",
])
def test_query_numbers_must_be_ascii_digits_within_bounds(client, path):
    answer = client.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])


def test_the_digest_preview_of_a_subscriber_that_is_no_number_is_not_found(client, catalog):
    admin = Visitor(client)
    admin.sign_up("moderator")
    make_admin(catalog, "moderator")
    for subscriber in ("²", "99999999999999999999"):
        answer = client.get("/digest/preview", params={"subscriber": subscriber})
        assert answer.status_code == 404, (subscriber, answer.status_code)
