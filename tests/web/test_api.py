"""The JSON API: Hugging Face's shapes, papertide's extras, and the official client against a
real server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.web.helpers import Visitor

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "hf_api"
HF_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def recorded_items() -> list[dict]:
    return [item for path in sorted(RECORDED.glob("daily_papers_*.json")) for item in json.loads(path.read_text())]


def common_keys(dicts) -> set[str]:
    keys = None
    for d in dicts:
        keys = set(d) if keys is None else keys & set(d)
    return keys


def test_daily_items_have_every_field_hugging_face_always_sends(client):
    recorded = recorded_items()
    items = client.get("/api/daily_papers", params={"date": "2025-08-21"}).json()
    assert len(items) == 3
    for item in items:
        assert common_keys(recorded) <= set(item)
        assert common_keys(r["paper"] for r in recorded) <= set(item["paper"])
        assert common_keys(a for r in recorded for a in r["paper"]["authors"]) <= set(item["paper"]["authors"][0])
        for value in (item["publishedAt"], item["paper"]["publishedAt"], item["paper"]["submittedOnDailyAt"]):
            assert HF_DATE.match(value), value
        assert isinstance(item["numComments"], int) and isinstance(item["paper"]["upvotes"], int)


def test_daily_item_values(client):
    item = next(i for i in client.get("/api/daily_papers", params={"date": "2025-08-19"}).json())
    paper = item["paper"]
    assert paper["id"] == "2508.00003" and item["title"] == paper["title"] == "Vision transformers at scale"
    assert [a["name"] for a in paper["authors"]] == ["Ada Lovelace", "Alan Turing"]
    assert paper["upvotes"] == 3 and paper["githubRepo"] == "https://github.com/acme/vit"
    assert paper["submittedOnDailyAt"] == "2025-08-19T06:00:00.000Z" and paper["publishedAt"] == "2025-08-18T00:00:00.000Z"
    assert item["submittedBy"]["name"] == "someone" and item["organization"] == paper["organization"]
    assert paper["organization"] == {"_id": paper["organization"]["_id"], "name": "acme", "fullname": "Acme AI", "avatar": ""}
    assert "projectPage" not in paper  # empty optional fields are left out, as Hugging Face does


def test_daily_papers_periods_sorts_and_paging(client):
    def ids(**params):
        answer = client.get("/api/daily_papers", params=params)
        assert answer.status_code == 200, answer.text
        return [i["paper"]["id"] for i in answer.json()]

    assert ids(week="2025-W34", sort="upvotes") == ["2508.00004", "2508.00002", "2508.00005", "2508.00001", "2508.00003", "2508.00006"]
    assert ids(month="2025-08", sort="upvotes", limit=2, p=1) == ["2508.00005", "2508.00001"]
    assert ids(date="2025-08-21", sort="trending") == ["2508.00005", "2508.00004", "2508.00006"]
    assert ids(date="2025-08-20") == []
    assert ids(limit=2) == ["2508.00005", "2508.00006"]  # no date: the newest submissions first
    assert ids(limit=2, p=1) == ["2508.00003", "2508.00004"]  # sorted by publication within the page
    assert ids(date="2025-08-21", submitter="nobody") == []


@pytest.mark.parametrize("params", [{"date": "yesterday"}, {"week": "2025-34"}, {"month": "2025"}, {"sort": "random"},
                                    {"date": ""}, {"month": "2025-8"}, {"date": " 2025-08-21"}])
def test_bad_parameters_get_a_400_with_an_error_message(client, params):
    answer = client.get("/api/daily_papers", params=params)
    assert answer.status_code == 400 and answer.json()["error"]


def test_of_several_periods_the_shortest_counts(client):
    both = client.get("/api/daily_papers", params={"date": "2025-08-21", "month": "2025-08"})
    assert [i["paper"]["id"] for i in both.json()] == [i["paper"]["id"] for i in
                                                       client.get("/api/daily_papers", params={"date": "2025-08-21"}).json()]
    assert client.get("/api/daily_papers", params={"week": "2025-W53"}).status_code == 404  # 2025 has 52 weeks


def test_paper_endpoint(client):
    paper = client.get("/api/papers/2508.00001").json()
    assert paper["id"] == "2508.00001" and paper["upvotes"] == 5 and paper["numComments"] == 0
    assert client.get("/api/papers/2508.00001v2").json()["id"] == "2508.00001"
    missing = client.get("/api/papers/2599.00001")
    assert missing.status_code == 404 and missing.json() == {"error": "Paper not found"}
    assert client.get("/api/papers/astro-ph/0601001").status_code == 404  # old-style ids route too


def test_search_endpoint(client):
    hits = [h["paper"]["id"] for h in client.get("/api/papers/search", params={"q": "attention"}).json()]
    assert sorted(hits) == ["2508.00001", "2508.00006", "2508.00007"]  # every paper that says "attention"
    assert [h["paper"]["id"] for h in client.get("/api/papers/search", params={"q": "attention", "limit": 1}).json()] == hits[:1]
    assert client.get("/api/papers/search", params={"q": ""}).json() == []


def test_extras_similar_votes_comments_trending_organizations(client):
    visitor = Visitor(client)
    visitor.sign_up("ada")
    visitor.vote("2508.00001")
    visitor.post("/papers/2508.00001/comments", {"body": "Nice *work*"})
    similar = client.get("/api/papers/2508.00001/similar").json()
    assert similar and all(s["paper"]["id"] != "2508.00001" for s in similar)
    history = client.get("/api/papers/2508.00001/votes").json()
    assert history["upvotes"] == 6 and history["points"][0] == {"date": "2025-08-18", "votes": 0, "total": 5}
    assert history["points"][-1]["total"] == 6
    thread = client.get("/api/papers/2508.00001/comments").json()
    assert [(c["author"]["name"], c["html"]) for c in thread] == [("ada", "<p>Nice <em>work</em></p>\n")]
    trending = client.get("/api/trending").json()
    assert trending[0]["paper"]["id"] == "2508.00005" and trending[0]["trendingScore"] > 0
    org = client.get("/api/organizations/acme/papers").json()
    assert {i["paper"]["id"] for i in org} == {"2508.00001", "2508.00003", "2508.00007"}
    assert client.get("/api/organizations/nobody/papers").status_code == 404


def test_openapi_documents_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}", "/api/papers/{arxiv_id}/similar"):
        assert path in paths
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "http" not in docs.text.split("<body", 1)[1]  # nothing from a CDN
    assert "<script>" not in docs.text  # no inline script: the strict CSP holds
    assert client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/..%2F..%2Fsecurity.py").status_code == 404


# --- the official client ------------------------------------------------------------------------


def test_huggingface_hub_client_works_against_a_real_papertide_server(live_server):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=live_server(), token=False)
    daily = list(api.list_daily_papers(date="2025-08-21", sort="trending"))
    assert [p.id for p in daily] == ["2508.00005", "2508.00004", "2508.00006"]
    first = daily[0]
    assert first.title == "Tiny language models that reason" and first.upvotes == 8
    assert [a.name for a in first.authors] == ["Ada Lovelace", "Alan Turing"]
    assert first.published_at.isoformat() == "2025-08-20T00:00:00+00:00"
    assert first.submitted_by.fullname == "someone"
    week = list(api.list_daily_papers(week="2025-W34", limit=2, p=0))
    assert len(week) == 2

    info = api.paper_info("2508.00003")
    assert info.id == "2508.00003" and info.title == "Vision transformers at scale" and info.upvotes == 3
    assert info.github_repo == "https://github.com/acme/vit" and info.organization.fullname == "Acme AI"
    assert info.submitted_at.isoformat() == "2025-08-19T06:00:00+00:00"

    found = list(api.list_papers(query="diffusion protein"))
    assert [p.id for p in found] == ["2508.00002"]

    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as missing:
        api.paper_info("2599.00001")
    assert missing.value.response.status_code == 404
