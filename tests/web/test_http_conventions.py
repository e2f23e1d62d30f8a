"""HTTP as clients and proxies expect it: HEAD, validators and 304s, Cache-Control, CORS, one JSON
error shape, content negotiation, documented limits, paging, and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.catalog.helpers import NOW
from tests.web.helpers import Visitor, build_app, settings_for

SHARED = ["/", "/?week=2025-W34", "/trending", "/papers/2508.00001", "/search?q=attention", "/orgs", "/orgs/acme",
          "/api/daily_papers", "/api/papers/2508.00001", "/api/papers/search?q=attention", "/api/trending",
          "/api/papers/2508.00001/comments", "/feeds/daily.atom", "/feeds/trending.rss", "/papers/2508.00001.md"]


# --- HEAD ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [*SHARED, "/docs", "/openapi.json", "/healthz", "/robots.txt", "/subscribe", "/login"])
def test_head_answers_like_get_without_a_body(live_server, path):
    base = live_server()
    with httpx.Client(base_url=base) as http:
        head, got = http.head(path), http.get(path)  # HEAD first: not answered from a cached GET
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "etag" in got.headers:
        assert head.headers["etag"] == got.headers["etag"]


# --- validators, 304, Cache-Control --------------------------------------------------------------

@pytest.mark.parametrize("path", SHARED)
def test_validators_and_304_on_pages_api_and_feeds(client, path):
    first = client.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    by_date = client.get(path, headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    assert client.get(path, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200


def test_a_cached_answer_carries_the_validators_of_its_render(app, catalog):
    cached = TestClient(app, base_url="http://testserver")
    miss, hit = cached.get("/api/daily_papers"), cached.get("/api/daily_papers")
    assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("miss", "hit")
    assert hit.headers["etag"] == miss.headers["etag"] and hit.headers["last-modified"] == miss.headers["last-modified"]
    assert hit.headers["cache-control"] == miss.headers["cache-control"]
    gzipped = cached.get("/api/daily_papers", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers.get("content-encoding") == "gzip" and gzipped.headers["etag"] == miss.headers["etag"]
    conditional_hit = cached.get("/api/daily_papers", headers={"If-None-Match": miss.headers["etag"]})
    assert conditional_hit.status_code == 304 and conditional_hit.headers["x-cache"] == "hit"
    # A worker without the cache renders the same bytes, so the same tag: validators hold across workers.
    uncached = TestClient(_uncached_app(catalog), base_url="http://testserver")
    assert uncached.get("/api/daily_papers").headers["etag"] == miss.headers["etag"]


def _uncached_app(catalog):
    from papertide.web.app import create_app

    return create_app(settings_for(catalog), database=catalog, clock=lambda: NOW, page_cache=False)


def test_a_vote_changes_the_tag(client):
    before = client.get("/api/papers/2508.00001").headers["etag"]
    visitor = Visitor(TestClient(client.app, base_url="http://testserver"))
    visitor.sign_up("ada")
    visitor.vote("2508.00001")
    after = client.get("/api/papers/2508.00001", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before and after.json()["upvotes"] == 6


def test_cache_control_lets_a_proxy_help_with_what_everyone_sees(client):
    anonymous = client.get("/api/daily_papers")
    assert anonymous.headers["cache-control"] == "public, max-age=0, s-maxage=10"
    assert "Cookie" in anonymous.headers["vary"] and "Authorization" in anonymous.headers["vary"]
    visitor = Visitor(TestClient(client.app, base_url="http://testserver"))
    visitor.sign_up("ada")
    personal = visitor.http.get("/")
    assert personal.headers["cache-control"] == "private, no-cache" and personal.headers["etag"]
    assert client.get("/api/session").headers["cache-control"] == "no-store"


# --- CORS ---------------------------------------------------------------------------------------

def test_cors_opens_the_read_only_api_and_feeds_to_other_origins(client):
    origin = {"Origin": "https://reader.example"}
    for path in ("/api/daily_papers", "/api/papers/2508.00001", "/feeds/daily.atom"):
        answer = client.get(path, headers=origin)
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "ETag" in answer.headers["access-control-expose-headers"]
    preflight = client.options("/api/daily_papers", headers={**origin, "Access-Control-Request-Method": "GET",
                                                             "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    write = client.options("/api/papers/2508.00001/vote", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert write.status_code == 400 and "POST" not in write.headers.get("access-control-allow-methods", "")
    assert "access-control-allow-origin" not in client.post("/api/papers/2508.00001/vote", headers=origin).headers
    assert "access-control-allow-origin" not in client.get("/", headers=origin).headers


def test_cors_origins_are_a_setting(catalog):
    only = TestClient(build_app(settings_for(catalog, cors_origins="https://reader.example"), catalog, clock=lambda: NOW),
                      base_url="http://testserver")
    assert only.get("/api/trending", headers={"Origin": "https://reader.example"}).headers[
        "access-control-allow-origin"] == "https://reader.example"
    assert "access-control-allow-origin" not in only.get("/api/trending", headers={"Origin": "https://evil.example"}).headers
    closed = TestClient(build_app(settings_for(catalog, cors_origins=""), catalog, clock=lambda: NOW), base_url="http://testserver")
    assert "access-control-allow-origin" not in closed.get("/api/trending", headers={"Origin": "https://reader.example"}).headers


# --- errors -------------------------------------------------------------------------------------

def test_every_json_error_has_one_shape(client):
    answers = [
        client.get("/api/no-such-thing"),  # 404 from the router
        client.get("/api/papers/2599.00001"),  # 404 from a route
        client.delete("/api/daily_papers"),  # 405
        client.get("/api/daily_papers", params={"limit": "x"}),  # 400: a bad query parameter
        client.get("/api/daily_papers", params={"date": "2025-02-30"}),  # 400: a period that is no date
        client.post("/api/subscriptions", content=b"{not json", headers={"Content-Type": "application/json"}),  # 422
        client.post("/api/papers/2508.00001/vote"),  # 401
        client.post("/papers/2508.00001/vote", headers={"Accept": "application/json"}),  # 403: no CSRF token
        client.get("/api/session", headers={"Authorization": "Bearer pt_wrong"}),  # 401: a wrong token
    ]
    assert [a.status_code for a in answers] == [404, 404, 405, 400, 400, 422, 401, 403, 401]
    for answer in answers:
        body = answer.json()
        assert answer.headers["content-type"] == "application/json" and set(body) <= {"error", "fields"}
        assert isinstance(body["error"], str) and body["error"]
    assert answers[2].headers["allow"] == "GET, HEAD"
    assert answers[3].json()["fields"][0]["where"] == "query.limit"


def test_a_server_error_is_json_for_programs_and_a_page_for_people(catalog):
    app = build_app(settings_for(catalog), catalog, clock=lambda: NOW)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("boom")

    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    assert client.get("/api/boom").json() == {"error": "internal server error; it was logged"}


def test_a_missing_paper_answers_json_to_whoever_asks_for_json(client):
    as_json = client.get("/papers/2599.00001", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json() == {"error": "papertide has no paper '2599.00001'. You can submit it by its arXiv id."}
    as_page = client.get("/papers/2599.00001", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert as_page.status_code == 404 and as_page.headers["content-type"].startswith("text/html")
    assert "Paper not found" in as_page.text


# --- limits and paging --------------------------------------------------------------------------

def test_limit_is_validated_as_documented(client):
    limit = next(p for p in client.get("/openapi.json").json()["paths"]["/api/daily_papers"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100 and limit["schema"]["minimum"] == 1
    assert client.get("/api/daily_papers", params={"limit": 100}).status_code == 200
    assert client.get("/api/daily_papers", params={"limit": 101}).status_code == 400
    assert client.get("/api/papers/search", params={"q": "attention", "limit": 1000}).status_code == 400


def test_search_pages_like_the_daily_list(client):
    def ids(**params):
        return [i["paper"]["id"] for i in client.get("/api/papers/search", params={"q": "attention", **params}).json()]

    everything = ids(limit=3)
    assert len(everything) == 3
    assert ids(limit=1, p=0) + ids(limit=1, p=1) + ids(limit=1, p=2) == everything
    assert ids(limit=1, p=3) == [] and ids(limit=50, p=2) == []
    first = client.get("/search", params={"q": "attention"}).text
    assert 'data-testid="more-results"' not in first  # three results fit one page


# --- the OpenAPI document -----------------------------------------------------------------------

def test_every_json_endpoint_declares_its_answer_and_pages_leave_the_schema(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert not [p for p in paths if not p.startswith(("/api/", "/feeds/", "/papers/{arxiv_id}.md"))]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert method != "head"
            ok = next(operation["responses"][s] for s in ("200", "201", "202", "204") if s in operation["responses"])
            if path.startswith("/api/") and method != "delete":
                schema = ok["content"]["application/json"]["schema"]
                assert "$ref" in schema or "$ref" in schema.get("items", {}), (path, method, schema)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    schemas = document["components"]["schemas"]
    assert {"DailyItem", "Paper", "PaperWithCounts", "Comment", "VoteResult", "Error"} <= set(schemas)
    assert "HTTPValidationError" not in schemas


def test_read_paper_of_the_hugging_face_client_works(live_server):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=live_server(), token=False)
    markdown = api.read_paper("2508.00003")
    assert markdown.startswith("# Vision transformers at scale\n")
    assert "Ada Lovelace, Alan Turing" in markdown and "## Abstract" in markdown
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError):
        api.read_paper("2599.00001")
