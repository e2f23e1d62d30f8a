"""Recall@10 of the saved HNSW graph against exact search, by ef, as the service asks (a top-100).

    python benchmarks/ann_ef_sweep.py [--graph .cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch]
                                      [--ef 96,256,512,1024,2048] [--queries 100] [--queries-file F]

Opens the graph's current generation (memory-mapped, as a web worker does), embeds the known-item
queries (int8, one thread), computes the exact top 11 over every vector, then for each ef asks the
graph for 100 and scores its first ten: recall@10, the same counting a hit within 0.001 cosine of
the exact 10th (near-ties), and top-100 latency (wall and CPU). Also prints the median cosine gap
between the exact 10th and 11th neighbours: how tied the data is.
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

from papertide.search.semantic.ann import GraphFiles  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

QUERIES = KNOWN_ITEM_QUERIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, default=Path(".cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch"))
    parser.add_argument("--ef", default="96,256,512,1024,2048")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--queries-file", type=Path, default=QUERIES, help="JSONL with a 'text' per line.")
    args = parser.parse_args()
    graph = GraphFiles(args.graph).read(any_build=True)
    if graph is None:
        raise SystemExit(f"no usable graph at {args.graph} (build it with search_latency.py --vector-sizes)")
    embedder = load_embedder("default", threads=1)
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()][: args.queries]
    queries = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    scores = np.empty((len(queries), len(graph.ids)), np.float32)
    for start in range(0, len(graph.ids), 65_536):
        scores[:, start : start + 65_536] = (graph.vectors[start : start + 65_536].astype(np.float32) @ queries.T).T
    top = np.argsort(-scores, axis=1)[:, :11]
    exact = np.take_along_axis(scores, top, axis=1)
    truth = [set(graph.ids[row[:10]].tolist()) for row in top]
    print(f"{len(graph.ids):,} vectors; exact cosine gap 10th-11th, median {np.median(exact[:, 9] - exact[:, 10]):.4f}; "
          f"1st-10th {np.median(exact[:, 0] - exact[:, 9]):.4f}", flush=True)
    for ef in (int(e) for e in args.ef.split(",") if e):
        graph.index.expansion_search = ef
        recall, near, wall, cpu = [], [], [], []
        for i, query in enumerate(queries):
            t, c = time.perf_counter(), time.process_time()
            hits = graph.search(query, 100)[:10]
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            recall.append(len(truth[i] & {k for k, _ in hits}) / 10)
            near.append(np.mean([s >= exact[i, 9] - 1e-3 for _, s in hits]))
        print(f"ef {ef}: recall@10 {np.mean(recall):.4f} (within 0.001 of the 10th: {np.mean(near):.4f}); top-100 "
              f"wall p50 {np.percentile(wall, 50):.2f} p99 {np.percentile(wall, 99):.2f} ms, "
              f"CPU p50 {np.percentile(cpu, 50):.2f} p99 {np.percentile(cpu, 99):.2f} ms", flush=True)


if __name__ == "__main__":
    main()
