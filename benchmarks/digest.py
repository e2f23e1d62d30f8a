"""Digest throughput: compose and deliver digests for N confirmed subscribers to a local SMTP sink.

    PYTHONPATH=src python benchmarks/digest.py [--subscribers 10000] [--workers 1] [--date 2026-08-18]

Setup (not timed): a fresh SQLite database with the demo corpus, N confirmed daily subscribers
(80% trending, 15% interests: topics and organisations, 5% both) and an aiosmtpd sink in its own
process on 127.0.0.1. Timed: one full ``papertide digest run`` (select papers per subscriber,
record the outbox, compose each multipart email, deliver it over SMTP, mark it sent). With
``--workers W`` the recording is done once and W processes deliver the outbox concurrently, as W
cron runs at once would. Prints digests/s, peak memory (max RSS of the sending processes), and the
CPU time spent per digest by papertide and by the sink, which is what a loaded machine distorts least.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

TOPICS = ["agents", "video generation", "reinforcement learning", "diffusion", "reasoning", "speech", "robotics",
          "retrieval", "benchmark", "multimodal"]
ORGS = ["google", "meta", "nvidia", "alibaba", "microsoft", "deepseek-ai", "openmoss", "tencent"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sink_process(port: int, ready, counter, cpu) -> None:
    """A real SMTP server (aiosmtpd) that counts what it is given and keeps nothing."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
                cpu.value = time.process_time()  # CPU seconds this sink has used so far
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def setup(url: str, subscribers: int) -> None:
    from sqlalchemy import insert

    from papertide.db import Database
    from papertide.digest.models import Subscription
    from papertide.ingest.detect import open_source
    from papertide.ingest.runner import ingest
    from papertide.orm import utcnow

    database = Database(url)
    database.migrate()
    ingest(database, open_source(str(REPO / "data" / "demo" / "papers.jsonl.gz")), progress=False)
    now = utcnow()
    rows = []
    for n in range(subscribers):
        kind = n % 20
        content = "trending" if kind < 16 else "interests" if kind < 19 else "both"
        rows.append({
            "email": f"reader{n}@bench.example", "status": "confirmed", "frequency": "daily", "content": content,
            "topics": [TOPICS[n % len(TOPICS)]] if content != "trending" else [],
            "follow_organizations": [ORGS[n % len(ORGS)]] if content == "interests" else [],
            "follow_authors": [], "max_papers": 10, "created_at": now, "confirmed_at": now,
        })
    with database.session() as session:
        session.execute(insert(Subscription), rows)
    database.dispose()


def settings_for(url: str, port: int):
    from papertide.config import Settings

    return Settings(database_url=url, secret_key="benchmark", base_url="https://papers.bench.example",
                    smtp_host="127.0.0.1", smtp_port=port)


def deliver_worker(url: str, port: int, results) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    from papertide.db import Database
    from papertide.digest.run import DeliveryPolicy, deliver

    report = deliver(Database(url), settings_for(url, port), policy=DeliveryPolicy(retry_window=timedelta(0)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put((report.sent, usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--date", default="2026-08-18", help="a day of the demo list (2026-08-18 has 29 papers)")
    args = parser.parse_args()

    from papertide.db import Database
    from papertide.digest import outbox
    from papertide.digest.periods import DigestPeriod
    from papertide.digest.run import DeliveryPolicy, run_digests
    from papertide.digest.select import PaperSelector
    from papertide.orm import utcnow

    workdir = tempfile.mkdtemp(prefix="papertide-bench-")
    url = f"sqlite:///{workdir}/bench.db"
    print(f"setup: demo corpus and {args.subscribers:,} confirmed subscribers in {url} ...", flush=True)
    setup(url, args.subscribers)

    port = free_port()
    ready, counter, sink_cpu = multiprocessing.Event(), multiprocessing.Value("i", 0), multiprocessing.Value("d", 0.0)
    sink = multiprocessing.Process(target=sink_process, args=(port, ready, counter, sink_cpu), daemon=True)
    sink.start()
    ready.wait(30)
    sink_cpu_before = sink_cpu.value

    period = DigestPeriod.containing("daily", date.fromisoformat(args.date))
    database = Database(url)
    settings = settings_for(url, port)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    if args.workers == 1:
        report = run_digests(database, settings, period, policy=DeliveryPolicy(retry_window=timedelta(0)))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sent, peak_kib = report.sent, usage.ru_maxrss
        sender_cpu = usage.ru_utime + usage.ru_stime - cpu_before
        recorded = report.recorded.recorded
    else:
        recorded = outbox.record(database, period, PaperSelector(database, period), utcnow()).recorded
        database.dispose()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sender_cpu = usage.ru_utime + usage.ru_stime - cpu_before
        results = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=deliver_worker, args=(url, port, results)) for _ in range(args.workers)]
        for worker in workers:
            worker.start()
        outcomes = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        sent, peak_kib = sum(o[0] for o in outcomes), max(o[1] for o in outcomes)
        sender_cpu += sum(o[2] for o in outcomes)
    elapsed = time.perf_counter() - started
    statuses = outbox.status_counts(Database(url), period.key)
    sink_cpu_used = sink_cpu.value - sink_cpu_before
    sink.terminate()

    print(f"period {period.key}: {recorded:,} digests recorded, {sent:,} sent, sink received {counter.value:,}; outbox {statuses}")
    print(f"workers: {args.workers}   load average before: {os.getloadavg()[0]:.2f}")
    print(f"time: {elapsed:.2f} s   throughput: {sent / elapsed:,.0f} digests/s")
    # Wall-clock throughput depends on what else the machine runs; CPU per digest does much less.
    per_digest = (sender_cpu + sink_cpu_used) / max(sent, 1) * 1000
    print(f"CPU per digest: papertide {sender_cpu / max(sent, 1) * 1000:.2f} ms + SMTP sink {sink_cpu_used / max(sent, 1) * 1000:.2f} ms"
          f" = {per_digest:.2f} ms  ->  CPU-bound ceiling on 2 free cores: {2000 / per_digest:,.0f} digests/s")
    print(f"peak memory (max RSS of a sending process): {peak_kib / 1024:.0f} MiB (main process before the run: {rss_before / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
