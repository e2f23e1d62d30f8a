"""The commands as an admin types them: ``sources list|add|remove|run``, and ``serve --worker``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.conftest import REPO
from tests.worker.conftest import job_runs, papertide, route_hf, run, wait_until, worker_env


def test_sources_are_added_listed_and_removed_from_the_command_line(database, replay):
    env = worker_env(database, replay)
    added = run("sources", "add", "arxiv", "cs.CL", "--backfill", "3", env=env)
    assert added.returncode == 0 and added.stdout.strip() == "added source arxiv-cs.CL: daily at 23:00 America/New_York"
    assert run("sources", "add", "ids", "reading-group", "2405.15738", "hep-th/9901001v2", "--at", "06:00",
               "--timezone", "UTC", env=env).returncode == 0
    bad = run("sources", "add", "ids", "broken", "2405.15738", "not-an-id", env=env)
    assert bad.returncode == 2 and "not an arXiv id: 'not-an-id'" in bad.stderr and "Traceback" not in bad.stderr
    twice = run("sources", "add", "arxiv", "cs.CL", env=env)
    assert twice.returncode == 2 and "already a source named 'arxiv-cs.CL'" in twice.stderr

    listed = json.loads(run("sources", "list", "--json", env=env).stdout)
    assert [(s["name"], s["schedule"]) for s in listed] == [
        ("hf-daily", "every 30 minutes"), ("arxiv-cs.CL", "daily at 23:00 America/New_York"), ("reading-group", "daily at 06:00 UTC"),
    ]
    assert listed[1]["what"] == "arXiv cs.CL via OAI-PMH set cs, first run 3 days back"
    assert listed[2]["what"] == "2 arXiv ids" and listed[0]["last_run_at"] is None

    assert run("sources", "remove", "arxiv-cs.CL", env=env).returncode == 0
    missing = run("sources", "remove", "arxiv-cs.CL", env=env)
    assert missing.returncode == 1 and "no source named 'arxiv-cs.CL'" in missing.stderr
    assert "arxiv-cs.CL" not in run("sources", "list", env=env).stdout


def test_sources_run_harvests_and_indexes_now(database, replay):
    today = datetime.now(timezone.utc).date()
    route_hf(replay, {today - timedelta(days=n): day for n, day in ((1, "2026-08-18"), (0, "2026-08-19"), (-1, "2026-08-20"))})
    env = worker_env(database, replay)
    done = run("sources", "run", "hf-daily", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("source:hf-daily: added ") and lines[1].startswith("search-index: embedded ")
    text = run("sources", "list", env=env).stdout
    assert "hf-daily: Hugging Face daily papers, today and yesterday; every 30 minutes" in text and "  ok  added" in text
    assert run("sources", "run", "nope", env=env).returncode == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_serve_with_worker_runs_the_pipeline_beside_the_site_and_stops_it(database, replay, tmp_path):
    today = datetime.now(timezone.utc).date()
    route_hf(replay, {today - timedelta(days=n): day for n, day in ((1, "2026-08-18"), (0, "2026-08-19"), (-1, "2026-08-20"))})
    port = free_port()
    env = {**worker_env(database, replay), "PAPERTIDE_QUERY_EMBEDDER": "inline"}
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen(papertide("serve", "--worker", "--port", str(port), "--no-access-log"), env=env, cwd=REPO,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: any(r.status == "ok" for r in job_runs(database, "search-index")), timeout=180,
                   processes=[server], what="the worker's first harvest and indexing",
                   state=lambda: (tmp_path / "serve.log").read_text()[-2000:])
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        holder = job_runs(database, "source:hf-daily")[0].holder
        worker_pid = int(holder.split(":")[-2])
        assert worker_pid != server.pid
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(60)
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
    with pytest.raises(ProcessLookupError):  # the worker went with the site
        os.kill(worker_pid, 0)
