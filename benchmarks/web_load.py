"""Load benchmark of the served site: requests/s, p50 and p99 for the daily page, a paper page and
a search, and the number of errors (which must be 0).

It builds a database with the whole demo corpus (or uses ``--database``), starts
``papertide serve --workers N --no-access-log`` on a free loopback port, and drives it with wrk
(Debian package ``wrk``: a C load generator light enough to share the 2 cores with the server).
Each scenario runs twice:

* ``cached``: every request asks for the same URL, as a crowd reading the same morning page does;
  after an unmeasured 3 s warm-up that fills each worker's cache, answers come from the page
  cache (still one content-version read each).
* ``rendered``: every request carries a distinct, ignored ``_n`` parameter, so each one misses the
  cache and is rendered from SQLite: the cost of a cold page, or of a logged-in reader.

    python benchmarks/web_load.py                      # 2 workers, 10 s per scenario, 64 connections
    python benchmarks/web_load.py --duration 20 --workers 2 --connections 64

Numbers on a shared machine are noisy: the script prints the load average before it starts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.web.browser.harness import free_port, wait_until_ready  # noqa: E402

DEMO = REPO / "data" / "demo" / "papers.jsonl.gz"
SEARCHES = ["diffusion", "reasoning", "agents", "video generation", "reinforcement learning", "vision language",
            "benchmark", "speech", "robot", "mixture of experts", "long context", "retrieval", "3d", "code", "math"]

# wrk scripts: a distinct (ignored) parameter per request defeats the cache; searches cycle a list.
UNIQUE_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format("GET", wrk.path .. sep .. "_n=" .. counter .. "_" .. math.random(1, 1e9))
end
"""
SEARCH_LUA = """
queries = {%s}
counter = 0
unique = %s
request = function()
  counter = counter + 1
  local path = "/search?q=" .. queries[(counter %% #queries) + 1]
  if unique then path = path .. "&_n=" .. counter .. "_" .. math.random(1, 1e9) end
  return wrk.format("GET", path)
end
"""


@dataclass
class Result:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def build_database(directory: Path) -> str:
    """The whole demo corpus in a fresh SQLite file."""
    from papertide.catalog.upsert import upsert_papers
    from papertide.db import Database
    from papertide.ingest.jsonl import record_from_mapping

    url = f"sqlite:///{directory / 'bench.db'}"
    database = Database(url)
    database.migrate()
    with gzip.open(DEMO, "rt", encoding="utf-8") as lines:
        records = [record_from_mapping(json.loads(line)) for line in lines]
    for start in range(0, len(records), 1000):
        with database.session() as session:
            upsert_papers(session, records[start:start + 1000])
    database.dispose()
    return url


def popular_paper(url: str) -> str:
    from sqlalchemy import select

    from papertide.catalog.models import Paper
    from papertide.db import Database

    database = Database(url)
    with database.session() as session:
        arxiv_id = session.scalar(select(Paper.arxiv_id).order_by(Paper.imported_upvotes.desc()).limit(1))
    database.dispose()
    return arxiv_id


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, url: str, *, duration: int, connections: int, threads: int, script: str | None) -> Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
            command += ["-s", lua.name]
    try:
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    p50 = _milliseconds(re.search(r"50%\s+([\d.]+\w+)", output)[1])
    p99 = _milliseconds(re.search(r"99%\s+([\d.]+\w+)", output)[1])
    total = int(re.search(r"(\d+) requests in", output)[1])
    errors = int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in m.groups())
    return Result(name, rate, p50, p99, total, errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the load generator shares the cores)")
    parser.add_argument("--database", help="an existing database URL (default: a fresh one with the demo corpus)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text (e.g. cached)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="papertide-bench-"))
    url = args.database or build_database(workdir)
    paper = popular_paper(url)
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_SECRET_KEY": "benchmark-secret",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", "from papertide.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(args.workers), "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/healthz", server)
        load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
        print(f"papertide web load: {args.workers} workers, wrk -t{args.threads} -c{args.connections} "
              f"-d{args.duration}s, {os.cpu_count()} cores, load average before: {' '.join(load)}")
        quoted = ", ".join(json.dumps(q.replace(" ", "+")) for q in SEARCHES)
        scenarios = [
            ("daily page, cached", f"{base}/", None),
            ("paper page, cached", f"{base}/papers/{paper}", None),
            ("search, cached (15 queries)", f"{base}/search", SEARCH_LUA % (quoted, "false")),
            ("daily page, rendered", f"{base}/", UNIQUE_LUA),
            ("paper page, rendered", f"{base}/papers/{paper}", UNIQUE_LUA),
            ("search, rendered (15 queries)", f"{base}/search", SEARCH_LUA % (quoted, "true")),
        ]
        scenarios = [s for s in scenarios if not args.only or args.only in s[0]]
        results = []
        for name, target, script in scenarios:
            if "cached" in name:
                # Steady state is what a cached scenario measures: a short unmeasured run first
                # fills every worker's cache (each worker has its own).
                run_wrk("warm-up", target, duration=3, connections=args.connections, threads=args.threads, script=script)
            results.append(run_wrk(name, target, duration=args.duration, connections=args.connections,
                                   threads=args.threads, script=script))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n| scenario | requests/s | p50 ms | p99 ms | requests | errors |\n|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.requests:,} | {r.errors} |")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
