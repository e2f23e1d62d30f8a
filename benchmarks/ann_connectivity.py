"""HNSW connectivity (M) and ef against recall@10 and latency, on saved or synthetic vectors.

    python benchmarks/ann_connectivity.py [--vectors graph|pairmix|fitted] [--size 100000] [--m 16,32]
        [--ef 64,96,128,192,256] [--graph .cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch]
        [--workdir .cache/ann_connectivity] [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]
        [--dtype bf16|f16] [--ef-add 128]

The vectors: ``graph``, the first ``--size`` of a saved generation (``--graph``); ``pairmix`` or
``fitted``, the ~10k real demo vectors followed by synthetic ones from ``ann_vectors.py`` (kept
in ``--workdir``). For each M a graph is built (2 threads) and saved in
``--workdir``, or loaded from there when a run already built it; ``--dtype`` is the graph's scalar
type (default: the service's, ``ann.scalar_kind()``), ``--ef-add`` the ef while inserting (default:
the service's, ``ann.EXPANSION_ADD``). For each ef every known-item
query (int8) asks for a top 100 and its first ten are scored against exact search, as the
service asks: recall@10, the same counting a hit within 0.001 cosine of the exact 10th (near-ties),
and top-100 latency (CPU and wall, p50/p99). CPU time is the stable figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import ann_vectors  # noqa: E402
from papertide.search.semantic.ann import EXPANSION_ADD, GraphFiles, scalar_kind  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402


def vectors_of(args) -> np.ndarray:
    if args.vectors == "graph":
        return np.asarray(GraphFiles(args.graph).read(any_build=True).vectors[: args.size])
    path = args.workdir / f"vectors-{args.vectors}-{args.size}.npy"
    if not path.exists():
        started = time.perf_counter()
        np.save(path, ann_vectors.benchmark_vectors(args.vectors, ann_vectors.real_vectors(), args.size))
        print(f"{args.size:,} {args.vectors} vectors made in {time.perf_counter() - started:.0f} s: {path}", flush=True)
    return np.load(path)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Rows and cosines of each query's exact top ``k``, best first (blocks of float16 rows)."""
    rows, scores = np.empty((len(queries), 0), np.int64), np.empty((len(queries), 0), np.float32)
    for start in range(0, len(vectors), 131_072):
        block = queries @ vectors[start : start + 131_072].astype(np.float32).T
        best = np.argpartition(-block, k - 1, axis=1)[:, :k]
        rows = np.concatenate([rows, best + start], axis=1)
        scores = np.concatenate([scores, np.take_along_axis(block, best, axis=1)], axis=1)
        keep = np.argsort(-scores, axis=1)[:, :k]
        rows, scores = np.take_along_axis(rows, keep, axis=1), np.take_along_axis(scores, keep, axis=1)
    return rows, scores


def measure_ef(index, ef: int, queries: np.ndarray, truth: list[set[int]], tenth: np.ndarray | None = None) -> dict:
    """Each query asks ``index`` for a top 100 at search ``ef``, as the service asks; its first ten
    are scored against ``truth`` (the exact top-10 keys). ``tenth``: the exact 10th cosines, for the
    share of hits within 0.001 of them (near-ties). CPU and wall time in ms."""
    index.expansion_search = ef
    for query in queries[:20]:  # touch the pages this ef reads
        index.search(query, 100)
    recall, near, wall, cpu = [], [], [], []
    for i, query in enumerate(queries):
        t, c = time.perf_counter(), time.process_time()
        matches = index.search(query, 100)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
        recall.append(len(truth[i] & {int(k) for k in matches.keys[:10]}) / 10)
        if tenth is not None:
            near.append(np.mean(1.0 - matches.distances[:10] >= tenth[i] - 1e-3))
    return {"recall": float(np.mean(recall)), "near": float(np.mean(near)) if near else float("nan"),
            "cpu_p50": np.percentile(cpu, 50), "cpu_p99": np.percentile(cpu, 99),
            "wall_p50": np.percentile(wall, 50), "wall_p99": np.percentile(wall, 99)}


def graph_of(m: int, vectors: np.ndarray, path: Path, dtype: str, ef_add: int):
    """The graph with connectivity ``m``, scalar type ``dtype`` and insertion ef ``ef_add`` over
    ``vectors`` (keys: their rows), built or loaded."""
    from usearch.index import Index

    if path.exists():
        print(f"M {m}: graph loaded from {path}", flush=True)
        return Index.restore(str(path), view=True)
    index = Index(ndim=vectors.shape[1], metric="cos", dtype=dtype, connectivity=m, expansion_add=ef_add)
    wall, cpu = time.perf_counter(), time.process_time()
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=2, log=True)
    print(f"{len(vectors):,} vectors, M {m}, {dtype}, ef_add {ef_add}: build {time.perf_counter() - wall:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s, "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)
    index.save(str(path))
    print(f"  saved {path} ({path.stat().st_size / 2**20:,.0f} MB)", flush=True)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", choices=("graph", *ann_vectors.KINDS), default="graph")
    parser.add_argument("--graph", type=Path, default=Path(".cache/search_latency/latency-1000000.db.all-minilm-l6-v2.usearch"))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--m", default="16,32")
    parser.add_argument("--ef", default="64,96,128,192,256")
    parser.add_argument("--queries", type=int, default=279, help="How many known-item queries (279: all).")
    parser.add_argument("--queries-file", type=Path, default=ann_vectors.QUERIES)
    parser.add_argument("--workdir", type=Path, default=Path(".cache/ann_connectivity"))
    parser.add_argument("--dtype", choices=("bf16", "f16"), default=scalar_kind())
    parser.add_argument("--ef-add", type=int, default=EXPANSION_ADD)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    vectors = vectors_of(args)
    embedder = load_embedder("default", threads=1)
    texts = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()][: args.queries]
    queries = np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)
    top, exact = exact_top(vectors, queries)
    truth = [set(row[:10].tolist()) for row in top]
    print(f"{len(vectors):,} {args.vectors} vectors, {len(queries)} queries; exact cosine gap 10th-11th median "
          f"{np.median(exact[:, 9] - exact[:, 10]):.4f}, 1st-10th {np.median(exact[:, 0] - exact[:, 9]):.4f}", flush=True)
    for m in (int(x) for x in args.m.split(",")):
        suffix = "" if args.dtype == "f16" else f"-{args.dtype}"  # (f16: the graphs built before --dtype)
        suffix += "" if args.ef_add == 128 else f"-add{args.ef_add}"  # (128: the graphs built before --ef-add)
        index = graph_of(m, vectors, args.workdir / f"{args.vectors}-{args.size}-M{m}{suffix}.usearch", args.dtype, args.ef_add)
        for ef in (int(x) for x in args.ef.split(",")):
            f = measure_ef(index, ef, queries, truth, exact[:, 9])
            print(f"  M {m} {args.dtype} ef {ef}: recall@10 {f['recall']:.3f} (within 0.001 of the 10th: {f['near']:.3f}); top-100 "
                  f"CPU p50 {f['cpu_p50']:.2f} p99 {f['cpu_p99']:.2f} ms, "
                  f"wall p50 {f['wall_p50']:.2f} p99 {f['wall_p99']:.2f} ms; load {os.getloadavg()[0]:.1f}", flush=True)
        del index


if __name__ == "__main__":
    main()
