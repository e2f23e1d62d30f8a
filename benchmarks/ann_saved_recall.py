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
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ann_connectivity import exact_top  # noqa: E402
from ann_vectors import QUERIES  # noqa: E402
from papertide.search.ann import GraphFiles  # noqa: E402
from papertide.search.embedder import load_embedder  # noqa: E402


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
        for ef in (int(x) for x in args.ef.split(",")):
            graph.index.expansion_search = ef
            for query in queries[:20]:  # touch the pages this ef reads
                graph.index.search(query, 100)
            recall, cpu = [], []
            for i, query in enumerate(queries):
                truth = set(graph.ids[top[i, :10]].tolist())
                started = time.process_time()
                matches = graph.index.search(query, 100)
                cpu.append((time.process_time() - started) * 1000)
                recall.append(len(truth & {int(k) for k in matches.keys[:10]}) / 10)
            print(f"{path.name} ({len(graph):,} vectors, M {settings['connectivity']}, {settings['dtype']}, insertion ef "
                  f"{settings.get('expansion_add')}) ef {ef}: recall@10 {np.mean(recall):.3f}, top-100 CPU p50 "
                  f"{np.percentile(cpu, 50):.2f} p99 {np.percentile(cpu, 99):.2f} ms", flush=True)


if __name__ == "__main__":
    main()
