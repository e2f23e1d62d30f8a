"""Bulk ingest throughput: arXiv's metadata snapshot format into SQLite and PostgreSQL, papers/s.

    PYTHONPATH=src python benchmarks/bulk_ingest.py [--papers 200000] [--categories cs.CL,cs.LG]
        [--backends sqlite,postgres] [--workdir /tmp/bulk-bench] [--profile]

The snapshot file is made once (kept in ``--workdir``) from the demo corpus's real papers:
``--papers`` lines in the snapshot's exact shape, the corpus repeated under new ids
(``tests/ingest/snapshot_data.py``). Each backend gets a fresh, migrated database (not timed);
then what ``papertide ingest FILE`` does is timed: stream, filter, validate, upsert in batches
with their checkpoints. A second pass over the same file times a re-load (every paper
unchanged). Prints wall and CPU rates, the CPU model and flags and the load average, since the
machines here differ and are shared. ``--profile`` writes a cProfile of the SQLite run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from papertide.db import Database  # noqa: E402
from papertide.ingest.arxiv_snapshot import ArxivSnapshotSource  # noqa: E402
from papertide.ingest.categories import CategoryFilter  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402
from tests.ingest.snapshot_data import demo_records, write_snapshot  # noqa: E402

DEMO = REPO / "data" / "demo" / "papers.jsonl.gz"
DURABILITY = {"fsync", "synchronous_commit", "full_page_writes"}


def cpu_description() -> str:
    """The CPU's model and the flags that matter to throughput here (vector units, AMX)."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    shown = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in {"sse4_2", "fma", "f16c", "bmi2"})
    return f"{model}; {os.cpu_count()} CPUs; flags {' '.join(shown) or 'unknown'}"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(database: Database, path: Path, categories: CategoryFilter | None, profile: Path | None = None):
    source = ArxivSnapshotSource(path, categories)
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    summary = ingest(database, source, progress=False)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if summary.error or summary.rejected:
        raise SystemExit(f"ingest failed: {summary.error or summary.rejected[:3]}")
    return summary.total, source.skipped, wall, cpu


def databases(backends: list[str], workdir: Path):
    """A fresh database per backend: (name, Database, cleanup)."""
    if "sqlite" in backends:
        folder = tempfile.mkdtemp(dir=workdir)
        database = Database(f"sqlite:///{folder}/bench.db")
        database.migrate()
        yield "SQLite", database
        database.dispose()
    if "postgres" in backends:
        from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

        folder = Path(tempfile.mkdtemp(dir=workdir))
        folder.chmod(0o755)  # the server may run as another account, which must reach its directory
        # Durable, as a lab runs it: the throwaway settings without their fsync=off and its kin.
        durable = {name: value for name, value in THROWAWAY_SETTINGS.items() if name not in DURABILITY}
        with LocalPostgres(folder / "postgres", settings=durable) as server:
            database = Database(server.url())
            database.migrate()
            yield "PostgreSQL", database
            database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--categories", default=None, help="e.g. cs.CL,cs.LG (default: every paper)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "papertide-bulk-bench")
    parser.add_argument("--profile", action="store_true", help="write a cProfile of the SQLite run to WORKDIR/sqlite.prof")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"arxiv-metadata-oai-snapshot-{args.papers}.json"
    if not path.exists():
        started = time.perf_counter()
        write_snapshot(path.with_suffix(".part"), demo_records(DEMO), args.papers).rename(path)
        print(f"wrote {path.name}: {args.papers:,} lines, {path.stat().st_size / 1e6:,.0f} MB in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    categories = CategoryFilter.parse(args.categories)
    print(f"CPU: {cpu_description()}")
    print(f"Python {platform.python_version()}; snapshot {path.stat().st_size / 1e6:,.0f} MB, {args.papers:,} lines; "
          f"categories {categories.describe() if categories else 'all'}", flush=True)
    for name, database in databases(args.backends.split(","), args.workdir):
        profile = args.workdir / "sqlite.prof" if args.profile and name == "SQLite" else None
        papers, skipped, wall, cpu = timed(database, path, categories, profile)
        _, _, wall2, cpu2 = timed(database, path, categories)
        print(f"{name}: {papers:,} papers ({skipped:,} lines of other categories) in {wall:.1f} s = "
              f"{papers / wall:,.0f} papers/s (per CPU-second {papers / cpu:,.0f}); "
              f"again, all unchanged: {papers / wall2:,.0f} papers/s (CPU {papers / cpu2:,.0f}); load {load_average()}",
              flush=True)


if __name__ == "__main__":
    main()
