"""HNSW connectivity (M) against recall@10 and latency, on the first N vectors of a saved graph.

    python benchmarks/ann_connectivity.py [--graph .cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch]
        [--size 100000] [--m 16,32] [--ef 96,256,512] [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]

Builds an in-memory graph (2 threads, ef_add 128) per M over the first ``--size`` vectors of the
saved generation's vectors, then for each ef asks for a top 100 per known-item query (int8) and
scores its first ten against exact search. Prints build time and recall/latency; nothing is saved.
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

from papertide.search.ann import EXPANSION_ADD, GraphFiles  # noqa: E402
from papertide.search.embedder import load_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, default=Path(".cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch"))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--m", default="16,32")
    parser.add_argument("--ef", default="96,256,512")
    parser.add_argument("--queries-file", type=Path, default=REPO.parent / "shared" / "data" / "benchmark_known_item" / "queries.jsonl")
    args = parser.parse_args()
    from usearch.index import Index

    graph = GraphFiles(args.graph).read(any_connectivity=True)
    ids, vectors = np.asarray(graph.ids[: args.size]), np.asarray(graph.vectors[: args.size])
    embedder = load_embedder("default", threads=1)
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()][:100]
    queries = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    scores = (vectors.astype(np.float32) @ queries.T).T
    truth = [set(ids[np.argsort(-row)[:10]].tolist()) for row in scores]
    for m in (int(x) for x in args.m.split(",")):
        index = Index(ndim=vectors.shape[1], metric="cos", dtype="f16", connectivity=m, expansion_add=EXPANSION_ADD)
        wall, cpu = time.perf_counter(), time.process_time()
        index.add(ids.astype(np.uint64), vectors, threads=2)
        print(f"{len(ids):,} vectors, M {m}: build {time.perf_counter() - wall:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s", flush=True)
        for ef in (int(x) for x in args.ef.split(",")):
            index.expansion_search = ef
            recall, cpu_ms = [], []
            for i, query in enumerate(queries):
                started = time.process_time()
                keys = index.search(query, 100).keys[:10]
                cpu_ms.append((time.process_time() - started) * 1000)
                recall.append(len(truth[i] & {int(k) for k in keys}) / 10)
            print(f"  M {m} ef {ef}: recall@10 {np.mean(recall):.3f}, top-100 CPU p50 {np.percentile(cpu_ms, 50):.2f} ms", flush=True)


if __name__ == "__main__":
    main()
