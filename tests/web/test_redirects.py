"""Where the site sends people: ``next`` after logging in, and the trailing-slash redirect.

Neither may be turned into a way off the site: not by control characters a browser drops from a
URL (``/\\t/evil.example`` becomes ``//evil.example``), nor by the ``Host`` header a client sends.
"""

from __future__ import annotations

import pytest

from papertide.web.session import safe_next
from tests.web.helpers import PASSWORD, Visitor


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\x00", "/\x7f", "/\u3000/evil.example",
    "/caf\u00e9", "/\u202e/x", " /papers", "/papers\x0b",
])
def test_safe_next_refuses_control_and_non_ascii_characters(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/papers/2508.00001", "/search?q=a%20b&date_from=2025-08-01", "/#comments"])
def test_safe_next_keeps_same_site_paths(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\u3000"])
def test_the_htmx_log_in_redirect_stays_on_the_site(client, target):
    Visitor(client).sign_up("ada")
    client.post("/logout", headers={"X-CSRF-Token": Visitor(client).refresh_token()})
    visitor = Visitor(client)
    answer = visitor.post("/login", {"username": "ada", "password": PASSWORD, "next": target}, json_api=False,
                          headers={"HX-Request": "true"})
    assert answer.status_code == 204, answer.text
    assert answer.headers["hx-redirect"] == "/"


@pytest.mark.parametrize("path,expected", [("/search/", "/search"), ("/search/?q=attention", "/search?q=attention"),
                                           ("/api/daily_papers/", "/api/daily_papers"), ("/trending/", "/trending")])
def test_the_trailing_slash_redirect_is_relative_whatever_the_host_header(client, path, expected):
    answer = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code in (301, 307, 308)
    assert answer.headers["location"] == expected
    assert "evil" not in answer.headers["location"]


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/"])
def test_no_trailing_slash_redirect_leaves_the_site(client, path):
    answer = client.get(path, follow_redirects=False)
    location = answer.headers.get("location", "")
    assert not location.startswith("//") and "evil" not in location.split("?")[0].split("/")[0]
