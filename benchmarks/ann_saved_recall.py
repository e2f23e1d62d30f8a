"""Recall@10 and CPU time of saved vector graphs, as the service keeps them, at several search ef.

    python benchmarks/ann_saved_recall.py GRAPH [GRAPH ...] [--ef 256,320,384]
        [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]

GRAPH is a graph's cache path, e.g. ``.cache/e2e32/latency-1000000.db.all-minilm-l6-v2.usearch``
(the database's graph, whatever settings it was built with). Every known-item query (int8, as the
service embeds it) asks the graph for a top 100; its first ten are scored against exact search
over the generation's own float16 vectors. Unlike ``ann_connectivity.py``, nothing is built: this
compares graphs that the service built, e.g. before and after a change of its insertion ef.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ann_connectivity import exact_top, measure_ef  # noqa: E402
from ann_vectors import QUERIES  # noqa: E402
from papertide.search.semantic.ann import GraphFiles  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graphs", nargs="+", type=Path)
    parser.add_argument("--ef", default="256,320,384")
    parser.add_argument("--queries-file", type=Path, default=QUERIES)
    args = parser.parse_args()
    embedder = load_embedder("default", threads=1)
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()]
    queries = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    print(f"queries: {len(queries)}, {args.queries_file}", flush=True)
    for path in args.graphs:
        files = GraphFiles(path)
        graph = files.read(any_build=True)
        if graph is None:
            print(f"{path}: no usable graph", flush=True)
            continue
        settings = json.loads(files.manifest.read_text())
        top, _ = exact_top(np.asarray(graph.vectors), queries)
        truth = [set(graph.ids[row[:10]].tolist()) for row in top]
        for ef in (int(x) for x in args.ef.split(",")):
            f = measure_ef(graph.index, ef, queries, truth)
            print(f"{path.name} ({len(graph):,} vectors, M {settings['connectivity']}, {settings['dtype']}, insertion ef "
                  f"{settings.get('expansion_add')}) ef {ef}: recall@10 {f['recall']:.3f}, top-100 CPU p50 "
                  f"{f['cpu_p50']:.2f} p99 {f['cpu_p99']:.2f} ms", flush=True)

if __name__ == "__main__":
    main()
