"""Does the query embedding really run beside the keyword side? Threads against a process.

    python benchmarks/embedding_overlap.py [--database .cache/search_latency/latency-1000000.db] [--queries 100]

``SearchService.search`` embeds the query on a thread while the keyword side runs, so that the two
share the 2 cores. Both are Python code between native calls (the int8 forward pass, numpy), so
they also share the GIL. This prints, per known-item query (median ms, after a warm-up pass): the
embedding alone, the keyword side alone, both one after the other, both on two threads (as the
service did before query_process.py), the embedding in a bare child process (a pipe) while the
keyword side runs, and the service's path now: ``QueryProcess`` (search/query_process.py; the same
child, plus numbered requests, locks and deadlines), alone and beside the keyword side.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.db import Database  # noqa: E402
from papertide.search import SearchOptions  # noqa: E402
from papertide.search.files import SearchFiles  # noqa: E402
from papertide.search.keyword import KeywordRetriever  # noqa: E402
from papertide.search.semantic.query_process import QueryProcess  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

CANDIDATES = SearchOptions().candidates  # what the service takes from each side

QUERIES = KNOWN_ITEM_QUERIES


def embedding_process(connection) -> None:
    embedder = load_embedder("default", threads=1)
    embedder.embed_query("warm up")
    connection.send("ready")
    while (query := connection.recv()) is not None:
        connection.send(embedder.embed_query(query))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=REPO / ".cache/search_latency/latency-1000000.db")
    parser.add_argument("--queries-file", type=Path, default=QUERIES)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in args.queries_file.open()][: args.queries]
    database = Database(f"sqlite:///{args.database}")
    keyword_side = KeywordRetriever(SearchFiles(database.url))
    embedder = load_embedder("default", threads=1)
    pool = ThreadPoolExecutor(1)
    parent, child = multiprocessing.Pipe()
    worker = multiprocessing.get_context("spawn").Process(target=embedding_process, args=(child,), daemon=True)
    worker.start()
    assert parent.recv() == "ready"
    query_process = QueryProcess("default")
    query_process.start()

    def keyword(query: str) -> None:
        with database.session() as session:
            keyword_side.search(session, query, CANDIDATES)

    def threads(query: str) -> None:
        pending = pool.submit(embedder.embed_query, query)
        keyword(query)
        pending.result()

    def process(query: str) -> None:
        parent.send(query)
        keyword(query)
        parent.recv()

    def production(query: str) -> None:
        pending = query_process.submit(query)
        keyword(query)
        pending.result()

    def median_ms(step) -> float:
        for query in queries:  # warm: statistics, file pages, caches
            step(query)
        times = []
        for query in queries:
            started = time.perf_counter()
            step(query)
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), 2)

    result = {
        "embedding alone": median_ms(embedder.embed_query),
        "keyword side alone": median_ms(keyword),
        "one after the other": median_ms(lambda q: (embedder.embed_query(q), keyword(q))),
        "embedding on a thread (the service before)": median_ms(threads),
        "embedding in a child process": median_ms(process),
        "QueryProcess alone (round trip)": median_ms(query_process.embed_query),
        "QueryProcess beside keyword (the service)": median_ms(production),
    }
    query_process.close()
    parent.send(None)
    worker.join(timeout=30)
    for what, ms in result.items():
        print(f"{what:<42} {ms:>7.2f} ms p50")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
