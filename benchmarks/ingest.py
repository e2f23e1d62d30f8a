"""Ingest throughput: the full demo corpus into a fresh SQLite database, papers per second.

    PYTHONPATH=src python benchmarks/ingest.py [--runs 5] [--corpus data/demo/papers.jsonl.gz] [--no-progress]

Each run migrates a new database in a temporary folder (not timed), then times what
``papertide ingest`` does: read, validate, upsert in batches of 1,000, progress bar on stderr.
A second pass over the same database times a re-ingest (every paper unchanged). Embedding is not
part of ingest. Prints every run, the best and the median, and the machine's load average, since
timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.db import Database  # noqa: E402
from papertide.ingest.jsonl import JsonlSource  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402


def timed_ingest(database: Database, corpus: Path, progress: bool) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    summary = ingest(database, JsonlSource(corpus), progress=progress)
    if summary.error or summary.rejected:
        raise SystemExit(f"ingest failed: {summary.error or summary.rejected[:3]}")
    return summary.total, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "demo" / "papers.jsonl.gz")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-progress", action="store_true", help="without the progress bar")
    args = parser.parse_args()

    fresh, again = [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{folder}/bench.db")
            database.migrate()
            papers, wall, cpu = timed_ingest(database, args.corpus, not args.no_progress)
            fresh.append(papers / wall)
            _, wall2, _ = timed_ingest(database, args.corpus, not args.no_progress)
            again.append(papers / wall2)
            database.dispose()
        print(f"run {run}: {papers:,} papers in {wall:.2f} s = {papers / wall:,.0f} papers/s "
              f"(CPU {papers / cpu:,.0f}/s); re-ingest, all unchanged: {papers / wall2:,.0f} papers/s", flush=True)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"fresh database: best {max(fresh):,.0f} papers/s, median {statistics.median(fresh):,.0f} papers/s "
          f"over {args.runs} runs")
    print(f"re-ingest:      best {max(again):,.0f} papers/s, median {statistics.median(again):,.0f} papers/s")
    print(f"load average {load} on {os.cpu_count()} cores; progress bar {'off' if args.no_progress else 'on'}")


if __name__ == "__main__":
    main()
