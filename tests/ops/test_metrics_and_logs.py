"""A real ``papertide serve --workers 2`` with JSON logs: /metrics read back with
prometheus-client's own parser adds up both workers (and a separate ingest process sharing the
metrics directory), /metrics is refused to outsiders, request ids round-trip, and every log line
is JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import BACKEND, DEMO_CORPUS
from tests.ops.helpers import clean_environment, served, wait_for

pytestmark = pytest.mark.slow

TOKEN = "scrape-token-for-tests"
MAX_REQUESTS = 400  # bounded: enough for the kernel to hand connections to both workers


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    """The server, its log file, its metrics directory and its database URL."""
    databases = request.getfixturevalue(f"{BACKEND}_databases")
    database = databases.create()
    directory = tmp_path_factory.mktemp("served")
    metrics_dir = directory / "metrics"
    log = directory / "serve.log"
    try:
        with served(database.url, directory, workers=2, log=log, log_format="json", metrics_token=TOKEN,
                    metrics_dir=str(metrics_dir)) as base:
            wait_for(base + "/readyz", None, log)
            yield {"base": base, "log": log, "metrics_dir": metrics_dir, "url": database.url, "directory": directory}
    finally:
        databases.drop(database)


def scrape(base: str, **headers: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(base + "/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def scrape_until(base: str, settled, timeout: float = 15.0, **headers: str) -> dict[tuple[str, tuple], float]:
    """Scrape until ``settled(samples)`` holds: each worker hands its request counts to the shared
    files in batches (metrics._RequestTally.FLUSH_SECONDS), so the last requests show a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(base, **headers)
        if settled(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)  # polling


def requests_per_process(metrics_dir: Path, route: str) -> dict[int, float]:
    """Each process's own count of 200 answers on ``route``, from its file in the shared directory."""
    counts = {}
    for file in metrics_dir.glob("counter_*.db"):
        pid = int(re.search(r"_(\d+)\.db$", file.name).group(1))
        for family in MultiProcessCollector.merge([str(file)], accumulate=True):
            for sample in family.samples:
                if sample.name == "papertide_http_requests_total" and sample.labels.get("route") == route \
                        and sample.labels.get("status") == "200":
                    counts[pid] = counts.get(pid, 0) + sample.value
    return counts


def test_metrics_add_up_over_two_workers(site):
    base, before = site["base"], scrape(site["base"])
    key = ("papertide_http_requests_total", (("method", "GET"), ("route", "/"), ("status", "200")))
    made = 0
    while made < MAX_REQUESTS:
        assert httpx.get(base + "/", headers={"connection": "close"}).status_code == 200  # a new connection each
        made += 1
        if made % 20 == 0 and len(requests_per_process(site["metrics_dir"], "/")) >= 2:
            break
    after = scrape_until(base, lambda samples: samples.get(key, 0) - before.get(key, 0) >= made)
    assert after[key] - before.get(key, 0) == made  # every answer counted once, whichever worker gave it
    per_process = requests_per_process(site["metrics_dir"], "/")
    assert len(per_process) >= 2, per_process  # both workers answered some
    assert sum(per_process.values()) == after[key]
    histogram = ("papertide_http_request_duration_seconds_count", (("method", "GET"), ("route", "/")))
    assert after[histogram] - before.get(histogram, 0) == made


def test_routes_are_counted_by_template_and_search_latency_is_measured(site):
    base, before = site["base"], scrape(site["base"])
    for arxiv_id in ("2508.99991", "2508.99992", "2508.99993"):
        assert httpx.get(f"{base}/papers/{arxiv_id}").status_code == 404
    assert httpx.get(f"{base}/no/such/page/{time.time_ns()}").status_code == 404
    assert httpx.get(f"{base}/search", params={"q": f"attention {time.time_ns()}"}).status_code == 200

    def growth(samples) -> tuple[float, float, float]:
        def grew(name: str, **labels: str) -> float:
            key = (name, tuple(sorted(labels.items())))
            return samples.get(key, 0) - before.get(key, 0)

        return (grew("papertide_http_requests_total", method="GET", route="/papers/{arxiv_id:path}", status="404"),
                grew("papertide_http_requests_total", method="GET", route="unmatched", status="404"),
                grew("papertide_search_duration_seconds_count", kind="search"))

    after = scrape_until(base, lambda samples: all(n >= want for n, want in zip(growth(samples), (3, 1, 1))))
    assert growth(after) == (3, 1, 1)  # pages by template, the unknown path as "unmatched", one search
    assert not any("2508.9999" in str(labels) for _, labels in after)  # never a raw path


def test_a_separate_process_sharing_the_metrics_directory_adds_its_counts(site, tmp_path):
    """What `papertide worker` does on the web machine: its ingests show in the web's /metrics."""
    corpus = tmp_path / "papers.jsonl"
    lines = subprocess.run(["zcat", str(DEMO_CORPUS)], capture_output=True, text=True, check=True).stdout.splitlines()
    corpus.write_text("\n".join(lines[:25]) + "\n")
    before = scrape(site["base"])
    env = clean_environment(PAPERTIDE_DATABASE_URL=site["url"], PAPERTIDE_METRICS_DIR=str(site["metrics_dir"]))
    done = subprocess.run([sys.executable, "-m", "papertide", "ingest", "-q", str(corpus)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    added = int(re.search(r"added (\d+)", done.stdout).group(1))
    assert added > 0
    key = ("papertide_papers_ingested_total", (("source", "JsonlSource"),))
    assert scrape(site["base"])[key] - before.get(key, 0) == added


def test_metrics_answer_loopback_or_the_token_only(site):
    base = site["base"]
    # As nginx would send it for a client elsewhere (a documentation address, never contacted).
    outsider = {"x-forwarded-for": "203.0.113.9"}
    assert httpx.get(base + "/metrics", headers=outsider).status_code == 403
    assert httpx.get(base + "/metrics", headers={**outsider, "authorization": "Bearer wrong-token"}).status_code == 403
    assert scrape(base, **outsider, authorization=f"Bearer {TOKEN}")  # parses, and holds samples


def test_request_ids_round_trip_and_json_log_lines_parse(site):
    base = site["base"]
    mine = f"ops-test-{time.time_ns()}"
    answered = httpx.get(base + "/", headers={"x-request-id": mine})
    assert answered.headers["x-request-id"] == mine
    forged = httpx.get(base + "/", headers={"x-request-id": "bad id\twith spaces"})
    made_up = forged.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made_up)
    other = httpx.get(base + "/").headers["x-request-id"]
    assert other != made_up

    deadline = time.monotonic() + 30
    while True:  # each worker writes its line after the answer has gone out
        records = [json.loads(line) for line in site["log"].read_text().splitlines() if line.strip()]
        ours = {r.get("request_id"): r for r in records if r.get("logger") == "papertide.access"}
        if {mine, made_up} <= set(ours) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling the log file
    assert ours[mine]["route"] == "/" and ours[mine]["status"] == 200 and ours[mine]["method"] == "GET"
    assert ours[mine]["duration_ms"] > 0 and ours[mine]["level"] == "INFO" and ours[mine]["time"]
    assert ours[made_up]["path"] == "/"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_forwarded_addresses_are_believed_from_the_configured_proxy_only(tmp_path, database):
    """With the proxy elsewhere (a documentation address, never contacted), a client on loopback
    that writes X-Forwarded-For is still itself: it cannot pose as another address."""
    with served(database.url, tmp_path, forwarded_allow_ips="192.0.2.10") as base:
        spoofed = httpx.get(base + "/metrics", headers={"x-forwarded-for": "203.0.113.9"})
        assert spoofed.status_code == 200  # seen as 127.0.0.1, which may scrape
