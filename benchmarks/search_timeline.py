"""When each step of one ``SearchService.search`` ends, as the web app calls it (medians, ms).

    python benchmarks/search_timeline.py [--database .cache/e2e32/latency-1000000.db] [--queries 200]
        [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]

With the query process (the default ``PAPERTIDE_QUERY_EMBEDDER=process``) the keyword side runs
in this process while the child embeds the query and searches the graph: the timeline shows which
of the two the query waits for, and what comes after (cosines, fusion, loading the hits). Three
passes over the queries; the last one's medians are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.db import Database  # noqa: E402
from papertide.search import service as search_service  # noqa: E402
from papertide.search.semantic.query_process import query_embedder  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

# answer_in: the query's vector came; hits_in: then the graph's answer (the child sends the vector
# first, and the keyword candidates are scored while it searches).
STEPS = ("keyword_done", "waiting_from", "answer_in", "hits_wait_from", "hits_in", "semantic_done", "hydrate_from", "hydrate_done", "end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=Path(".cache/e2e32/latency-1000000.db"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--queries-file", type=Path, default=KNOWN_ITEM_QUERIES)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()][: args.queries]
    service = search_service.SearchService(Database(f"sqlite:///{args.database}"), query_embedder("default", threads=1))
    service.search("warm up", limit=20)
    marks: dict[str, float] = {}

    def marking(function, before: str | None, after: str | None):
        def wrapped(*a, **k):
            if before:
                marks[before] = time.perf_counter()
            value = function(*a, **k)
            if after:
                marks[after] = time.perf_counter()
            return value
        return wrapped

    search_service.keyword_search = marking(search_service.keyword_search, None, "keyword_done")
    service._vector_of = marking(service._vector_of, "waiting_from", "answer_in")
    search_service.PendingQuery.graph_hits = marking(search_service.PendingQuery.graph_hits, "hits_wait_from", "hits_in")
    service._semantic = marking(service._semantic, None, "semantic_done")
    service._hydrate = marking(service._hydrate, "hydrate_from", "hydrate_done")
    for _ in range(3):
        rows = []
        for text in texts:
            started = time.perf_counter()
            service.search(text, limit=20)
            marks["end"] = time.perf_counter()
            rows.append([(marks.pop(step, np.nan) - started) * 1000 for step in STEPS])
    print(f"{args.database.name}, {len(texts)} queries, query embedder {type(service.embedder).__name__}; ms from the call, medians:")
    print(json.dumps(dict(zip(STEPS, np.round(np.nanmedian(np.array(rows), axis=0), 2).tolist()))))


if __name__ == "__main__":
    main()
