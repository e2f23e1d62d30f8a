"""Keyword search latency on PostgreSQL at 100k papers: papertide's keyword side, nothing else.

    python benchmarks/pg_keyword.py                       # private server, 100k papers, then measure
    python benchmarks/pg_keyword.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench   # reuse
    python benchmarks/pg_keyword.py --workdir .cache/search_backends   # search_backends.py's 100k papers
    python benchmarks/pg_keyword.py --workdir .cache/search_backends --set POSTINGS_BUDGET=40000   # a sweep

The catalog is the demo corpus (9,877 real papers) ingested through papertide, then copied to
``--papers`` rows (copies share their text, so document frequencies are those of a 10x corpus).
An empty database at ``--url`` is migrated and filled; a filled one is migrated and measured as is.
The queries are the 279 known-item sentences of ../shared/data (OR of ~15 words plus phrases)
and 200 two-word queries from titles; each is run through ``papertide.search.keyword`` with
k = 100 (what ``SearchService`` takes from each side). Prints how long refreshing the BM25 term statistics
takes, p50/p99 per query set, and the machine's load.

``--workdir`` measures ``search_backends.py``'s database instead (built there first: the real
papers are the oldest 9,877 of 100k synthetic ones, so the known-item targets are findable and
the quality of the candidates shows): then the known-item set also prints MRR@10 and
recall@100 of the keyword side alone, and each query's CPU time in the PostgreSQL server process
(steadier than wall time on a shared machine). ``--set NAME=VALUE`` overrides a constant of
``search/keyword/postgres.py`` for the run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from papertide.db import Database  # noqa: E402
from papertide.ingest.jsonl import JsonlSource  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402
from papertide.search import SearchOptions  # noqa: E402
from papertide.search.files import SearchFiles  # noqa: E402
from papertide.search.keyword import KeywordRetriever  # noqa: E402
from papertide.search.keyword import postgres as keyword_postgres  # noqa: E402
from papertide.search.keyword import postgres_stats as term_stats  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"
CANDIDATES = SearchOptions().candidates  # what the service takes from each side
_WORD = re.compile(r"[a-z0-9]+")


def fill(database: Database, papers: int) -> int:
    """Migrate; if there are no papers, ingest the demo corpus and copy it up to ``papers`` rows."""
    database.migrate()
    with database.engine.begin() as connection:
        if connection.scalar(text("SELECT count(*) FROM papers")):
            return connection.scalar(text("SELECT count(*) FROM papers"))
    started = time.perf_counter()
    ingest(database, JsonlSource(CORPUS), progress=True)
    with database.engine.begin() as connection:
        base = connection.scalar(text("SELECT count(*) FROM papers"))
        columns = list(connection.scalars(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'papers' AND column_name <> 'id' "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position")))
        select_list = ", ".join("arxiv_id || '.c' || :copy" if c == "arxiv_id" else c for c in columns)
        for copy in range(1, (papers + base - 1) // base):
            connection.execute(text(
                f"INSERT INTO papers ({', '.join(columns)}) SELECT {select_list} FROM papers WHERE id <= :base ORDER BY id LIMIT :n"
            ), {"copy": str(copy), "base": base, "n": min(base, papers - copy * base)})
        connection.execute(text("ANALYZE papers"))
        total = connection.scalar(text("SELECT count(*) FROM papers"))
    print(f"loaded {total:,} papers ({base:,} real, the rest copies) in {time.perf_counter() - started:.0f} s", flush=True)
    return total


def known_item_queries() -> list[dict]:
    """The known-item sentences with their target arXiv ids."""
    return [json.loads(line) for line in KNOWN_ITEM_QUERIES.read_text().splitlines() if line.strip()]


def two_word_queries(count: int) -> list[str]:
    generator = random.Random(3)
    with gzip.open(CORPUS, "rt") as lines:
        titles = [json.loads(line)["title"] for line in lines]
    out = []
    while len(out) < count:
        words = [w for w in _WORD.findall(generator.choice(titles).lower()) if len(w) > 3]
        if len(words) >= 2:
            out.append(" ".join(generator.sample(words, 2)))
    return out


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def server_cpu_ms(session) -> "callable":
    """A clock of the CPU time of ``session``'s PostgreSQL backend process, or None if it is not
    a process of this machine that we may read."""
    stat = Path(f"/proc/{session.scalar(text('SELECT pg_backend_pid()'))}/stat")
    if not os.access(stat, os.R_OK):
        return None
    ticks = os.sysconf("SC_CLK_TCK")

    def now() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / ticks  # utime + stime

    return now


def measure(database: Database, total: int, limit: int | None) -> None:
    sets = [("known-item sentences", known_item_queries()[:limit]),
            ("two-word title queries", [{"text": q} for q in two_word_queries(200)[:limit]])]
    keyword_side = KeywordRetriever(SearchFiles(database.url))
    print(f"\n{total:,} papers; keyword side k={CANDIDATES}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'queries':28} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'mean hits':>10} "
          f"{'server CPU ms':>14} {'MRR@10':>7} {'R@100':>6}")
    with database.session() as session:
        ids = dict(session.execute(text("SELECT arxiv_id, id FROM papers WHERE arxiv_id = ANY(:targets)"), {
            "targets": [q["target"] for q in sets[0][1]]}).all())
        cpu = server_cpu_ms(session)
        keyword_side.search(session, "warm up the statistics and the cache", CANDIDATES)
        for label, queries in sets:
            for query in queries[:5]:
                keyword_side.search(session, query["text"], CANDIDATES)
            latencies, hits, reciprocal, recall = [], [], [], []
            cpu_before = cpu() if cpu else 0.0
            for query in queries:
                started = time.perf_counter()
                rows = keyword_side.search(session, query["text"], CANDIDATES)
                latencies.append((time.perf_counter() - started) * 1000)
                hits.append(len(rows))
                if query.get("target") in ids:
                    found = [pid for pid, _ in rows]
                    rank = found.index(ids[query["target"]]) + 1 if ids[query["target"]] in found else None
                    reciprocal.append(1 / rank if rank and rank <= 10 else 0.0)
                    recall.append(rank is not None)
            server = f"{(cpu() - cpu_before) / len(queries):14.1f}" if cpu else f"{'-':>14}"
            quality = (f"{statistics.mean(reciprocal):7.3f} {statistics.mean(recall):6.3f}" if reciprocal else f"{'-':>7} {'-':>6}")
            print(f"{label:28} {len(queries):4} {percentile(latencies, 0.5):8.1f} {percentile(latencies, 0.99):8.1f} "
                  f"{statistics.mean(latencies):8.1f} {statistics.mean(hits):10.1f} {server} {quality}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a PostgreSQL database with pgvector, empty or filled by this script (default: a private server)")
    parser.add_argument("--workdir", type=Path, help="search_backends.py's --workdir: measure its PostgreSQL database of --papers")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--limit", type=int, help="only the first N queries of each set")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a constant of papertide.search.keyword.postgres (a number)")
    args = parser.parse_args()
    for setting in args.set:
        name, value = setting.split("=", 1)
        if not isinstance(getattr(keyword_postgres, name, None), int):
            parser.error(f"--set: keyword_postgres has no numeric constant {name}")
        setattr(keyword_postgres, name, int(value))
    server, url = None, args.url
    if args.workdir is not None:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from search_backends import postgres_server

        if not (args.workdir / f"postgres-{args.papers}.done").exists():
            parser.error(f"no database of {args.papers:,} papers in {args.workdir}: run search_backends.py first")
        server = postgres_server(args.workdir.resolve())
        url = server.url(f"bench_search_{args.papers}")
    elif url is None:
        from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

        server = LocalPostgres(settings={**THROWAWAY_SETTINGS, "shared_buffers": "1GB", "work_mem": "64MB"}).start()
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench_keyword"))
        admin.dispose()
        url = server.url("bench_keyword")
    try:
        database = Database(url)
        total = fill(database, args.papers)
        if args.workdir is None:  # a database search_backends.py built has its statistics already
            started = time.perf_counter()
            term_stats.refresh(database.engine)
            with database.engine.connect() as connection:
                lexemes = connection.scalar(text("SELECT count(*) FROM search_term_stats"))
            print(f"term statistics (ts_stat over {total:,} papers, {lexemes:,} lexemes) refreshed in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        constants = ("POSTINGS_BUDGET", "PAIR_WORDS", "PAIR_POSTINGS", "MAX_CANDIDATES", "NEWEST_BEYOND")
        print("keyword_postgres: " + ", ".join(f"{name} {getattr(keyword_postgres, name):,}" for name in constants
                                               if hasattr(keyword_postgres, name)), flush=True)
        measure(database, total, args.limit)
        database.dispose()
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
