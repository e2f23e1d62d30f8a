"""Hugging Face daily_papers JSON: the three schema years on record, the live API, the command."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.ingest.base import Rejected, SourceError
from papertide.ingest.hf_daily import HfDailyApiSource, HfDailyFileSource, parse_daily_papers
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.runner import ingest
from tests.ingest.conftest import JSON, recorded, run_cli
from tests.ingest.replay import Reply

DAYS = {"2024-07-22": 16, "2025-08-20": 14, "2026-07-27": 14}


@pytest.mark.parametrize("day, count", DAYS.items())
def test_every_schema_year_loads_completely(day, count):
    items = list(HfDailyFileSource(recorded(f"hf_api/daily_papers_{day}.json")))
    assert len(items) == count and not [i for i in items if isinstance(i, Rejected)]
    assert {i.daily.date for i in items} == {date.fromisoformat(day)}
    assert all(i.title and i.abstract and i.authors for i in items)


def test_2024_schema_takes_the_submission_from_the_item():
    first = next(iter(HfDailyFileSource(recorded("hf_api/daily_papers_2024-07-22.json"))))
    assert first.arxiv_id == "2407.14507" and first.upvotes == 30 and first.num_comments == 5
    assert first.title == "Internal Consistency and Self-Feedback in Large Language Models: A Survey"
    assert first.daily.submitted_by == "Ki-Seki"
    assert first.daily.submitted_at == datetime(2024, 7, 22, 10, 45, 40, 306000, tzinfo=timezone.utc)
    assert first.published_at == datetime(2024, 7, 19, 17, 59, 3, tzinfo=timezone.utc)


def test_2025_schema_enrichment():
    first = next(iter(HfDailyFileSource(recorded("hf_api/daily_papers_2025-08-20.json"))))
    assert first.github_repo == "https://github.com/OPPO-PersonalAI/Agent_Foundation_Models"
    assert first.github_stars == 32 and first.project_page == "https://chain-of-agents-afm.github.io/"
    assert first.ai_summary.startswith("Chain-of-Agents (CoA) paradigm") and "AFMs" in first.ai_keywords
    assert first.daily.submitted_by == "Wangchunshu"


def test_2026_schema_organizations():
    items = list(HfDailyFileSource(recorded("hf_api/daily_papers_2026-07-27.json")))
    orgs = {i.organization.slug: i.organization.name for i in items if i.organization}
    assert orgs["nvidia"] == "NVIDIA" and "Tencent-Hunyuan" in orgs and len(orgs) == 9


def test_one_bad_item_is_rejected_and_the_rest_load():
    items = json.loads(recorded("hf_api/daily_papers_2025-08-20.json").read_bytes())
    items[2]["paper"]["id"] = "not-an-id"
    items[5]["paper"]["title"] = "<script>alert(1)</script>"
    results = list(parse_daily_papers(json.dumps(items).encode(), "day"))
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert [r.where for r in rejected] == ["item 3 (not-an-id)", f"item 6 ({items[5]['paper']['id']})"]
    assert "not an arXiv id" in rejected[0].reason and "HTML markup" in rejected[1].reason
    assert len(results) - len(rejected) == 12


def test_not_a_daily_papers_list_is_a_source_error():
    with pytest.raises(SourceError, match="expected a JSON array"):
        list(parse_daily_papers(b'{"error": "Invalid date"}', "day"))


def test_the_api_client_fetches_a_day(replay, database):
    replay.route("/api/daily_papers", {"date": "2026-07-27"}, Reply.file(recorded("hf_api/daily_papers_2026-07-27.json"), JSON))
    summary = ingest(database, HfDailyApiSource(replay.url + "/api", date(2026, 7, 27), PoliteFetcher(delay=0)), progress=False)
    assert summary.counts.added == 14
    with database.session() as session:
        assert session.scalar(select(DailyEntry.daily_date).distinct()) == date(2026, 7, 27)
        assert session.scalar(select(Organization.slug).where(Organization.slug == "nvidia")) == "nvidia"


def test_harvest_hf_command_twice_changes_nothing(replay, database):
    replay.route("/api/daily_papers", {"date": "2025-08-20"}, Reply.file(recorded("hf_api/daily_papers_2025-08-20.json"), JSON))
    env = {"PAPERTIDE_HF_API_URL": replay.url + "/api"}
    first = run_cli("harvest", "hf", "--date", "2025-08-20", "--delay", "0", "--quiet", database_url=database.url, env=env)
    second = run_cli("harvest", "hf", "--date", "2025-08-20", "--delay", "0", "--quiet", database_url=database.url, env=env)
    assert first.stdout.strip() == b"added 14 / updated 0 / unchanged 0 / rejected 0", first.stderr
    assert second.stdout.strip() == b"added 0 / updated 0 / unchanged 14 / rejected 0"
    with database.session() as session:
        assert session.query(Paper).count() == 14


def test_harvest_hf_reports_http_errors(replay, database):
    replay.route("/api/daily_papers", {"date": "2025-08-20"}, Reply(404, b'{"error":"Not Found"}'))
    result = run_cli("harvest", "hf", "--date", "2025-08-20", "--delay", "0", "--quiet", database_url=database.url,
                     env={"PAPERTIDE_HF_API_URL": replay.url + "/api"})
    assert result.returncode == 1 and b"HTTP 404" in result.stderr
