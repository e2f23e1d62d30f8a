"""Requests per second with 1, 2 and 4 web workers, on SQLite and on PostgreSQL.

Loads the demo corpus into a fresh database of each backend, starts ``papertide serve --workers N``
on 127.0.0.1, and drives it for a fixed time from a client on the same machine (asyncio + httpx,
``--concurrency`` connections), over the paths given (default: every GET page the site has that
needs no argument). The client shares the machine's cores with the server, so the figures are a
floor; compare them with each other, not with other machines.

    python benchmarks/workers_load.py                         # both backends, 1/2/4 workers, 10 s each
    python benchmarks/workers_load.py --backends postgres --workers 4 --path /api/daily_papers
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.db import Database  # noqa: E402
from papertide.ingest.jsonl import JsonlSource  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402
from papertide.local_postgres import free_port  # noqa: E402

CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"


def default_paths() -> list[str]:
    from papertide.web.app import create_app

    paths = [route.path for route in create_app().routes
             if "GET" in getattr(route, "methods", ()) and "{" not in route.path
             and not route.path.startswith(("/docs", "/redoc", "/openapi"))]
    return paths or ["/"]


async def drive(base: str, paths: list[str], seconds: float, concurrency: int) -> tuple[int, int, list[float]]:
    done, failed, latencies = 0, 0, []
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        nonlocal done, failed
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            turn = index
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(paths[turn % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                turn += 1
                if response.status_code == 200:
                    done += 1
                else:
                    failed += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done, failed, latencies


def serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_SECRET_KEY": "benchmark",
           "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen([sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers", str(workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.2)  # readiness polling
    server.kill()
    raise SystemExit("the server did not start")


def prepared_database(backend: str, scratch: Path, server) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{scratch / 'bench.db'}"
    else:
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench_load"))
        admin.dispose()
        url = server.url("bench_load")
    database = Database(url)
    database.migrate()
    ingest(database, JsonlSource(CORPUS), progress=False)
    database.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--path", action="append", help="a path to request (repeatable); default: every GET page")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    paths = args.path or default_paths()
    worker_counts = [int(n) for n in args.workers.split(",")]
    print(f"paths: {', '.join(paths)}; {args.concurrency} connections, {args.seconds:.0f} s per run; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'backend':10} {'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    postgres = None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for backend in args.backends.split(","):
                if backend == "postgres" and postgres is None:
                    from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

                    postgres = LocalPostgres(settings={**THROWAWAY_SETTINGS, "shared_buffers": "512MB"}).start()
                url = prepared_database(backend, Path(scratch), postgres)
                for workers in worker_counts:
                    server, base = serve(url, workers)
                    try:
                        asyncio.run(drive(base, paths, 2, args.concurrency))  # warm-up
                        done, failed, latencies = asyncio.run(drive(base, paths, args.seconds, args.concurrency))
                    finally:
                        server.terminate()
                        server.wait(timeout=30)
                    ordered = sorted(latencies)
                    print(f"{backend:10} {workers:7} {done / args.seconds:8.0f} {statistics.median(ordered):8.1f} "
                          f"{ordered[int(0.99 * (len(ordered) - 1))]:8.1f} {failed:7}")
        finally:
            if postgres is not None:
                postgres.close()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
