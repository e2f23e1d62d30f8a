"""When each step of one ``SearchService.search`` starts and ends, as the web app calls it (medians, ms).

    python benchmarks/search_timeline.py [--database .cache/e2e32/latency-1000000.db] [--queries 200]
        [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]

With the query process (the default ``PAPERTIDE_QUERY_EMBEDDER=process``) the keyword side runs
in this process while the child embeds the query and searches the graph: the timeline shows which
of the two the query waits for, and what comes after (cosines, fusion, checking the hits). The
steps are the service's own trace (``papertide.search.trace``). Three passes over the queries;
the last one's medians are printed.
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
from papertide.search import SearchQuery, SearchService  # noqa: E402
from papertide.search.semantic.query_process import query_embedder  # noqa: E402
from papertide.search.trace import capture  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

# (timeline name, span, its start or its end). "query vector" is the wait for the embedding;
# "graph hits" then the wait for the child's graph answer (the child sends the vector first, and
# the keyword candidates are scored while it searches).
STEPS = (("keyword_done", "keyword", "ended"), ("waiting_from", "query vector", "started"), ("answer_in", "query vector", "ended"),
         ("hits_wait_from", "graph hits", "started"), ("hits_in", "graph hits", "ended"), ("semantic_done", "semantic", "ended"),
         ("hits_from", "hits", "started"), ("hits_done", "hits", "ended"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=Path(".cache/e2e32/latency-1000000.db"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--queries-file", type=Path, default=KNOWN_ITEM_QUERIES)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()][: args.queries]
    service = SearchService(Database(f"sqlite:///{args.database}"), query_embedder("default", threads=1))
    service.search(SearchQuery("warm up", 20))
    for _ in range(3):
        rows = []
        for text in texts:
            with capture() as spans:
                started = time.perf_counter()
                service.search(SearchQuery(text, 20))
                ended = time.perf_counter()
            at = {s.name: s for s in spans}
            rows.append([(getattr(at[name], edge) - started) * 1000 if name in at else np.nan for _, name, edge in STEPS]
                        + [(ended - started) * 1000])
    names = [step for step, _, _ in STEPS] + ["end"]
    print(f"{args.database.name}, {len(texts)} queries, query embedder {type(service.semantic.embedder).__name__}; ms from the call, medians:")
    print(json.dumps(dict(zip(names, np.round(np.nanmedian(np.array(rows), axis=0), 2).tolist()))))


if __name__ == "__main__":
    main()
