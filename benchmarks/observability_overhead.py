"""What the request middleware (web/observability.py: request id, duration, metrics) costs a cached
page: CPU microseconds per request of the real app's cached daily page, called through ASGI with
and without the middleware, alternating, in this one process (CPU time, so that other load on a
shared machine counts less than with a load generator).

    PYTHONPATH=src python benchmarks/observability_overhead.py [--database sqlite:///papertide.db]
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) PYTHONPATH=src python benchmarks/observability_overhead.py

The second form measures prometheus-client's multi-process mode, as `serve --workers N` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import papertide.web.app as app_module
from papertide.config import Settings
from papertide.db import Database


class _Passthrough:
    def __init__(self, app, **_options):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def build(database: Database, observed: bool):
    real = app_module.ObservabilityMiddleware
    if not observed:
        app_module.ObservabilityMiddleware = _Passthrough
    try:
        return app_module.create_app(Settings(database_url=database.url, secret_key="benchmark", access_log=False),
                                     database=database)
    finally:
        app_module.ObservabilityMiddleware = real


async def _receive():
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_message):
    pass


def _scope() -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/", "raw_path": b"/", "root_path": "", "query_string": b"", "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000), "headers": [(b"host", b"localhost"), (b"user-agent", b"bench"), (b"accept", b"*/*")]}


async def cpu_per_request(app, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        await app(_scope(), _receive, _send)
    return (time.process_time() - started) / count * 1e6


async def main(database: Database, rounds: int, count: int) -> None:
    apps = {"without": build(database, False), "with": build(database, True)}
    for app in apps.values():  # fill each app's page cache
        for _ in range(100):
            await app(_scope(), _receive, _send)
    results = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            results[name].append(await cpu_per_request(app, count))
    for name, values in results.items():
        print(f"{name:8s} middleware: median {statistics.median(values):6.2f} us CPU per cached request "
              f"(min {min(values):.2f}, {rounds} rounds of {count:,})")
    print(f"cost: {statistics.median(results['with']) - statistics.median(results['without']):.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a papertide database URL (default: a new empty SQLite file)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20_000)
    arguments = parser.parse_args()
    url = arguments.database or f"sqlite:///{tempfile.mkdtemp(prefix='papertide-bench-')}/papertide.db"
    database = Database(url)
    database.migrate()
    asyncio.run(main(database, arguments.rounds, arguments.requests))
