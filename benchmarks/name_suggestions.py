"""Suggestions for the digest's pickers: how long ``catalog.names`` takes to answer one keystroke.

Loads the Hugging Face Daily Papers corpus of shared/data into a fresh database (SQLite, or a
private PostgreSQL server with ``--backend postgres``), then asks for authors and organisations by
fragments of real names (3 to 6 characters, a fixed seed) and checks whole names as a save does.
Prints the median, p90 and maximum of each, in milliseconds.

    python benchmarks/name_suggestions.py
    python benchmarks/name_suggestions.py --backend postgres --fragments 200
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from papertide.catalog import names  # noqa: E402
from papertide.catalog.models import Paper  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.ingest.detect import open_source  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402

CORPUS = SHARED_DATA / "hf_daily_papers.jsonl.gz"


@contextmanager
def scratch_database(backend: str, directory: str):
    if backend == "sqlite":
        yield Database(f"sqlite:///{directory}/names.db")
        return
    from papertide.local_postgres import LocalPostgres

    with LocalPostgres() as server:
        yield Database(server.url())


def timed(call, inputs) -> list[float]:
    times = []
    for value in inputs:
        start = time.perf_counter()
        call(value)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    print(f"{label:<34} n={len(times):<4} median {statistics.median(times):7.1f} ms   p90 {p90:7.1f} ms   max {ordered[-1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--fragments", type=int, default=100)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as directory, scratch_database(args.backend, directory) as database:
        database.migrate()
        summary = ingest(database, open_source(str(CORPUS)), progress=False)
        with database.session() as session:
            authors = sorted({name for (listed,) in session.execute(select(Paper.authors)) for name in listed})
            organizations = [name for _, name, _ in names.suggest_organizations(session, "", limit=10_000)]
            picked = rng.sample(authors, args.fragments)
            author_parts = [name[start:start + rng.randint(3, 6)] for name in picked
                            for start in [rng.randrange(max(1, len(name) - 3))]]
            org_parts = [name[:rng.randint(3, 6)] for name in rng.choices(organizations, k=args.fragments)]
            print(f"{args.backend}: {summary.total} papers, {len(authors)} distinct authors, {len(organizations)} organisations")
            report("suggest_authors (a fragment)", timed(lambda typed: names.suggest_authors(session, typed), author_parts))
            report("suggest_organizations (a prefix)", timed(lambda typed: names.suggest_organizations(session, typed), org_parts))
            report("resolve_authors (3 whole names)", timed(lambda group: names.resolve_authors(session, group),
                                                            [picked[n:n + 3] for n in range(0, len(picked), 3)]))


if __name__ == "__main__":
    main()
