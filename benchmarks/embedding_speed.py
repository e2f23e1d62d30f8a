"""Embedding speed and fidelity of all-MiniLM-L6-v2 in each precision papertide supports.

    python benchmarks/embedding_speed.py --queries ../shared/data/benchmark_known_item/queries.jsonl \
        [--corpus data/demo/papers.jsonl.gz] [--documents 512] [--repeat 3]

Queries: every query of the file, embedded one at a time on one torch thread (what a web worker
does), after a warm-up; p50/p99 of wall-clock and of the thread's CPU time (the steadier figure
on a shared machine); then shorter queries: the last ``--short-queries`` demo titles, and their
first four words. Documents: ``--documents`` real abstracts (title + abstract, the last ones
of the corpus, so none was in the int8 calibration set), 256-token truncation, tokenising and
pooling included, per precision, thread count and batch size; the median of ``--repeat`` runs.
Fidelity against fp32: cosine (min, mean) and the overlap of the top-10 neighbours (queries:
among the shipped demo vectors; documents: among the embedded documents themselves).
The load average is printed with every figure. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from papertide.search.semantic.embedder import document_text  # noqa: E402
from papertide.search.semantic.minilm import MiniLM  # noqa: E402


def load() -> float:
    return round(os.getloadavg()[0], 2)


def top10_overlap(a: np.ndarray, b: np.ndarray, corpus_a: np.ndarray, corpus_b: np.ndarray, skip_self: bool) -> float:
    """Mean share of the 10 nearest corpus vectors that ``a`` and ``b`` (row by row) agree on."""
    def top(queries, corpus):
        scores = queries @ corpus.T
        if skip_self:
            np.fill_diagonal(scores, -np.inf)
        return np.argsort(-scores, axis=1)[:, :10]

    ta, tb = top(a, corpus_a), top(b, corpus_b)
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(ta, tb)]))


def fidelity(vectors: np.ndarray, reference: np.ndarray) -> dict:
    cosine = (vectors * reference).sum(1)
    return {"cosine_min": round(float(cosine.min()), 5), "cosine_mean": round(float(cosine.mean()), 5)}


def time_queries(model: MiniLM, texts: list[str]) -> tuple[list[float], list[float], list[np.ndarray]]:
    """Wall and thread-CPU seconds of each query, after a warm-up, and the vectors."""
    for text in texts[:20]:
        model.embed_query(text)
    walls, cpus, vectors = [], [], []
    for text in texts:
        w, c = time.perf_counter(), time.thread_time()
        vectors.append(model.embed_query(text))
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - w)
    return walls, cpus, vectors


def bench_queries(precisions: list[str], queries: list[str], short: dict[str, list[str]], neighbours: np.ndarray) -> dict:
    torch.set_num_threads(1)
    results, reference = {}, None
    for precision in precisions:
        model = MiniLM(query_precision=precision, document_precision="fp32")
        before = load()
        walls, cpus, vectors = time_queries(model, queries)
        vectors = np.stack(vectors)
        reference = vectors if reference is None else reference
        row = {
            "p50_ms": round(1000 * statistics.median(walls), 2),
            "p99_ms": round(1000 * float(np.percentile(walls, 99)), 2),
            "cpu_p50_ms": round(1000 * statistics.median(cpus), 2),
            "cpu_p99_ms": round(1000 * float(np.percentile(cpus, 99)), 2),
            **fidelity(vectors, reference),
            "top10_overlap": round(top10_overlap(vectors, reference, neighbours, neighbours, False), 4),
            "load": [before, load()],
        }
        results[precision] = row
        print(f"query {precision:5s} 1 thread: p50 {row['p50_ms']:6.2f} ms, p99 {row['p99_ms']:6.2f} ms "
              f"(CPU p50 {row['cpu_p50_ms']:.2f} ms); cosine to {precisions[0]} min {row['cosine_min']:.4f} "
              f"mean {row['cosine_mean']:.5f}; top-10 overlap {row['top10_overlap']:.3f}; load {row['load']}", flush=True)
        for name, texts in short.items():
            walls, cpus, _ = time_queries(model, texts)
            tokens = statistics.median(len(e.ids) for e in model._tokenizer.encode_batch(texts))
            row[name] = {"tokens_p50": tokens, "p50_ms": round(1000 * statistics.median(walls), 2),
                         "cpu_p50_ms": round(1000 * statistics.median(cpus), 2), "load": load()}
            print(f"query {precision:5s} {name} ({len(texts)}, tokens p50 {tokens:.0f}): p50 {row[name]['p50_ms']:.2f} ms, "
                  f"CPU p50 {row[name]['cpu_p50_ms']:.2f} ms; load {row[name]['load']}", flush=True)
    return results


def bench_documents(precisions, threads_list, batch_sizes, texts, reference_count, repeat) -> dict:
    results = {}
    reference = None
    for precision in precisions:
        for threads in threads_list:
            torch.set_num_threads(threads)
            for batch_size in batch_sizes:
                model = MiniLM(query_precision="fp32", document_precision=precision, batch_size=batch_size)
                # fp32 is the reference, too slow for the whole set: measured on the first texts only.
                subset = texts[:reference_count] if precision == "fp32" else texts
                model.embed_documents(subset[:batch_size])
                rates, cpu_rates, loads = [], [], []
                for _ in range(repeat if precision != "fp32" else 1):
                    before = load()
                    w, c = time.perf_counter(), time.process_time()
                    vectors = model.embed_documents(subset)
                    rates.append(len(subset) / (time.perf_counter() - w))
                    cpu_rates.append(len(subset) / (time.process_time() - c))
                    loads.append([before, load()])
                if reference is None:
                    reference = vectors
                n = min(len(vectors), len(reference))
                row = {
                    "per_s": round(statistics.median(rates), 1),
                    "runs_per_s": [round(r, 1) for r in rates],
                    "per_cpu_s": round(statistics.median(cpu_rates), 1),
                    "documents": len(subset),
                    **fidelity(vectors[:n], reference[:n]),
                    "top10_overlap": round(top10_overlap(vectors[:n], reference[:n], vectors[:n], reference[:n], True), 4),
                    "load": loads,
                }
                results[f"{precision}/t{threads}/bs{batch_size}"] = row
                print(f"documents {precision:5s} {threads} thread(s) batch {batch_size:3d}: {row['per_s']:6.1f}/s "
                      f"(runs {row['runs_per_s']}, {row['per_cpu_s']:.1f} per CPU-s, {len(subset)} docs); cosine "
                      f"to fp32 min {row['cosine_min']:.5f} mean {row['cosine_mean']:.5f}; top-10 overlap "
                      f"{row['top10_overlap']:.3f}; load {loads}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, required=True, help="JSONL with a 'text' per line")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data/demo/papers.jsonl.gz")
    parser.add_argument("--vectors", type=Path, default=ROOT / "data/demo/papers.embeddings.npz", help="neighbours for queries")
    parser.add_argument("--documents", type=int, default=512)
    parser.add_argument("--reference-documents", type=int, default=64, help="fp32 documents (slow), the reference")
    parser.add_argument("--query-precisions", default="fp32,bf16,int8")
    parser.add_argument("--document-precisions", default="fp32,bf16,int8")
    parser.add_argument("--document-threads", default="2,1")
    parser.add_argument("--batch-sizes", default="16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--short-queries", type=int, default=400, help="demo titles, and their first 4 words, as short queries")
    args = parser.parse_args()

    queries = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    with gzip.open(args.corpus, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for line in handle if line.strip()]
    texts = [document_text(p["title"], p.get("abstract") or "") for p in papers[-args.documents:]]
    titles = [p["title"] for p in papers[-args.short_queries:]] if args.short_queries else []
    short = {"titles": titles, "4 words": [" ".join(t.split()[:4]) for t in titles]} if titles else {}
    with np.load(args.vectors, allow_pickle=False) as stored:
        neighbours = stored["vectors"].astype(np.float32)
    neighbours /= np.linalg.norm(neighbours, axis=1, keepdims=True)

    tokenizer = MiniLM(query_precision="fp32", document_precision="fp32")._tokenizer
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    query_lengths = [len(e.ids) for e in tokenizer.encode_batch(queries)]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {load()}; {len(queries)} queries, tokens p50 "
          f"{statistics.median(query_lengths):.0f} (min {min(query_lengths)}, max {max(query_lengths)}); "
          f"{len(texts)} documents, tokens mean {np.mean(lengths):.0f}, {np.mean(np.array(lengths) >= 256):.0%} truncated at 256")
    t = time.perf_counter()
    tokenizer.encode_batch(texts)
    print(f"tokenising {len(texts)} documents: {1000 * (time.perf_counter() - t):.0f} ms", flush=True)

    result = {
        "load_start": load(),
        "queries": bench_queries(args.query_precisions.split(","), queries, short, neighbours),
        "documents": bench_documents(
            args.document_precisions.split(","),
            [int(x) for x in args.document_threads.split(",")],
            [int(x) for x in args.batch_sizes.split(",")],
            texts, args.reference_documents, args.repeat,
        ),
        "load_end": load(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
