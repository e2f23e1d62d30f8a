"""Done, as the issue says it: on a fresh installation pointed at a source, ``papertide worker
--once`` puts that day's papers on the daily list, embedded (the real model) and searchable, with
no other command; ``stats`` and the admin Sources page show it happened."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from papertide.web.app import create_app
from tests.web.helpers import PASSWORD, Visitor, make_admin, settings_for
from tests.worker.conftest import route_hf, run, worker_env

TARGET = "2608.17310"  # "Agentic ESOpt", on the corpus's list of 2026-08-19


@pytest.mark.slow
def test_worker_once_on_a_fresh_install_fills_the_daily_list_embedded_and_searchable(database, replay):
    today = datetime.now(timezone.utc).date()  # the real clock: nothing simulated here
    corpus = {today - timedelta(days=1): "2026-08-18", today: "2026-08-19", today + timedelta(days=1): "2026-08-20"}
    route_hf(replay, corpus)  # the day after too, should the test cross midnight UTC
    env = worker_env(database, replay, PAPERTIDE_EMBEDDER="default")

    once = run("worker", "--once", "--quiet", env=env)
    assert once.returncode == 0, once.stdout + once.stderr
    assert [line.split(":")[0] for line in once.stdout.splitlines()] == ["source", "search-index"]
    asked = sorted(request.params["date"] for request in replay.requests)
    expected = {"2026-08-18": 29, "2026-08-19": 25, "2026-08-20": 14}
    day = max(asked)
    papers = sum(expected[corpus[datetime.fromisoformat(d).date()]] for d in asked)

    stats = json.loads(run("stats", "--json", env=env).stdout)
    assert stats["papers"] == stats["embedded"] == stats["daily_entries"] == papers
    assert stats["last_day"] == day and stats["sources"]["hf-daily"] is not None

    found = run("search", "fine-tuning long-horizon LLM agents with evolution strategies", "--json", "--limit", "3", env=env)
    assert found.returncode == 0 and "keyword search only" not in found.stderr, found.stderr
    top = json.loads(found.stdout.splitlines()[0])
    assert top["arxiv_id"] == TARGET and top["match"] in ("hybrid", "semantic")  # found by meaning, with its vector

    app = create_app(settings_for(database), database=database)
    with TestClient(app, base_url="http://testserver") as client:
        daily = client.get("/").text  # the newest day of the list
        assert f'value="{day}"' in daily and f"{expected[corpus[datetime.fromisoformat(day).date()]]} papers" in daily
        assert "Catalog updated" in daily
        admin = Visitor(client)
        admin.sign_up("curator", PASSWORD)
        make_admin(database, "curator")
        page = client.get("/admin/sources")
    assert page.status_code == 200
    row = page.text.split('data-testid="job-source:hf-daily"', 1)[1].split("</tr>", 1)[0]
    assert ">ok<" in row and f">{papers} <" in row  # last run ok, papers added by it
    assert "none" in row  # no error
