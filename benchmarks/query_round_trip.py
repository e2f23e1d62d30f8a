"""Round trip of one query to the query process (``search/query_process.py``): what a search waits
for its vector, the model included (no graph search).

    python benchmarks/query_round_trip.py [--queries-file ../shared/data/benchmark_known_item/queries.jsonl] [--passes 3]

Spawns a ``QueryProcess`` as a web worker does, sends 50 queries to warm it, then every query
``--passes`` times, one at a time; prints the median and 90th percentile in ms.
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

from papertide.search.semantic.query_process import QueryProcess  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries-file", type=Path, default=KNOWN_ITEM_QUERIES)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()]
    process = QueryProcess()
    process.start()
    try:
        for text in texts[:50]:
            process.embed_query(text)
        times = []
        for _ in range(args.passes):
            for text in texts:
                started = time.perf_counter()
                process.embed_query(text)
                times.append(time.perf_counter() - started)
    finally:
        process.close()
    print(f"{len(texts)} queries x {args.passes}: round trip p50 {np.median(times) * 1e3:.2f} ms, p90 {np.percentile(times, 90) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
