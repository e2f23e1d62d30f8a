"""Write-path benchmark: upvotes per second through the real server, and that counts stay exact.

Starts ``papertide serve --workers N --no-access-log`` on a fresh SQLite database (or
``--database-url`` for PostgreSQL) with 200 papers, signs up ``--clients`` users (outside the
timing), then each client toggles votes on random papers as fast as the server answers. Prints
votes/s, latency percentiles, errors, and whether every paper's ``vote_count`` equals its vote
rows and the number each client's own toggles imply.

    python benchmarks/vote_load.py                         # 2 workers, 50 clients x 100 votes
    python benchmarks/vote_load.py --workers 1 --clients 20 --votes 200
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from papertide.catalog.models import Paper  # noqa: E402
from papertide.catalog.record import PaperRecord  # noqa: E402
from papertide.catalog.upsert import upsert_papers  # noqa: E402
from papertide.community.models import Vote  # noqa: E402
from papertide.db import Database  # noqa: E402
from tests.web.browser.harness import free_port, wait_until_ready  # noqa: E402

PAPERS = 200


def seed(database: Database) -> list[str]:
    today = date.today()
    records = [PaperRecord(arxiv_id=f"2601.{n:05d}", version=1, title=f"Benchmark paper {n}", abstract="x",
                           authors=["A. Author"], published_at=datetime.now(timezone.utc) - timedelta(days=1),
                           daily={"date": today, "submitted_at": datetime.now(timezone.utc)})
               for n in range(PAPERS)]
    with database.session() as session:
        upsert_papers(session, records)
    return [r.arxiv_id for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--votes", type=int, default=100, help="votes per client")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'votes.db'}"
        database = Database(url)
        database.migrate()
        papers = seed(database)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_SECRET_KEY": "benchmark-secret",
               "PAPERTIDE_BASE_URL": base, "PAPERTIDE_RATE_LIMIT_SCALE": "0", "PYTHONPATH": str(REPO / "src")}
        server = subprocess.Popen([sys.executable, "-c", "from papertide.cli import main; main()", "serve", "--port",
                                   str(port), "--workers", str(args.workers), "--no-access-log"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_ready(f"{base}/healthz", server)
            print(f"load average before: {os.getloadavg()[0]:.2f}; {args.workers} workers, {args.clients} clients "
                  f"x {args.votes} votes on {PAPERS} papers ({url.split(':', 1)[0]})")
            clients = []
            for n in range(args.clients):  # sign up outside the timing (argon2 costs ~0.1-0.5 s each)
                http = httpx.Client(base_url=base, timeout=60)
                token = http.get("/api/session").json()["csrfToken"]
                http.post("/signup", data={"username": f"bench{n:03d}", "password": "benchmark password",
                                           "csrf_token": token}, headers={"Accept": "application/json"}).raise_for_status()
                clients.append((http, http.get("/api/session").json()["csrfToken"]))

            def run(client) -> tuple[list[float], int, dict[str, bool]]:
                http, token = client
                rng = random.Random(token)
                latencies, errors, state = [], 0, {}
                for _ in range(args.votes):
                    arxiv_id = rng.choice(papers)
                    start = time.perf_counter()
                    answer = http.post(f"/api/papers/{arxiv_id}/vote", headers={"X-CSRF-Token": token})
                    latencies.append(time.perf_counter() - start)
                    if answer.status_code == 200:
                        state[arxiv_id] = answer.json()["voted"]
                    else:
                        errors += 1
                return latencies, errors, state

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                results = list(pool.map(run, clients))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

        latencies = sorted(t for r in results for t in r[0])
        errors = sum(r[1] for r in results)
        expected: dict[str, int] = {}
        for _, _, state in results:
            for arxiv_id, on in state.items():
                expected[arxiv_id] = expected.get(arxiv_id, 0) + on
        with database.session() as session:
            counts = dict(session.execute(select(Paper.arxiv_id, Paper.vote_count)).all())
            rows = dict(session.execute(select(Paper.arxiv_id, func.count(Vote.id)).join(Vote, Vote.paper_id == Paper.id)
                                        .group_by(Paper.arxiv_id)).all())
        exact = all(counts[a] == rows.get(a, 0) == expected.get(a, 0) for a in papers)

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        print(f"votes: {len(latencies):,} in {elapsed:.1f} s = {len(latencies) / elapsed:,.0f} votes/s; "
              f"latency p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms; errors {errors}")
        print(f"counts exact (vote_count == vote rows == what the clients' toggles imply, all {PAPERS} papers): {exact}")
        database.dispose()
        if errors or not exact:
            sys.exit(1)


if __name__ == "__main__":
    main()
