"""Embedding speed of all-MiniLM-L6-v2 on onnxruntime (and, for documents, on PyTorch: the bulk
extra), and how far int8 queries stray from fp32.

    PYTHONPATH=src .venv/bin/python benchmarks/embedding_speed.py [--queries shared/data/benchmark_known_item/queries.jsonl] \
        [--corpus data/demo/papers.jsonl.gz] [--documents 256] [--engines onnxruntime,torch] [--threads 1,2] \
        [--batch-sizes 8,16,32] [--repeat 3]

Why: a search waits for one query vector, the indexer for thousands of document vectors; the two
paths run different models (``query.int8.onnx`` or ``document.onnx``, see ``minilm.py``) and their
speed depends on the CPU's int8 units, so the figures are printed beside the CPU's model and flags.

Queries: every query of the file, embedded one at a time with ``threads=1`` (what a web worker's
query process does), after a warm-up, per precision: p50/p90/p99 of wall-clock, p50 of the thread's
CPU time (the steadier figure on a shared machine), mean tokens; then the cosine of int8 to fp32
(min, mean). Documents: ``--documents`` demo abstracts (title + abstract, the last ones of the
corpus, so none of the first 32 that calibrated int8), 256-token truncation, tokenising and pooling
included, per engine, thread count and batch size: abstracts per second, median of ``--repeat``
runs (PyTorch in bfloat16 where the CPU has bf16 units, as ``papertide index`` runs it).
The load average is printed with every figure. The last line is one JSON object. With the
defaults it takes about five minutes on 2 cores.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import onnxruntime  # noqa: E402
from bulk_ingest import cpu_description  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

from papertide.search.semantic.embedder import document_text  # noqa: E402
from papertide.search.semantic.minilm import MiniLM  # noqa: E402

CALIBRATION_PAPERS = 32  # the first papers of the corpus, which calibrated query.int8.onnx


def load() -> float:
    return round(os.getloadavg()[0], 2)


def ms(seconds: list[float], q: float) -> float:
    return round(1000 * float(np.percentile(seconds, q)), 2)


def bench_queries(queries: list[str]) -> dict:
    results, vectors = {}, {}
    for precision in ("fp32", "int8"):
        model = MiniLM(query_precision=precision, threads=1)
        for text in queries[:20]:
            model.embed_query(text)
        before, walls, cpus, rows = load(), [], [], []
        for text in queries:
            w, c = time.perf_counter(), time.thread_time()
            rows.append(model.embed_query(text))
            cpus.append(time.thread_time() - c)
            walls.append(time.perf_counter() - w)
        vectors[precision] = np.stack(rows)
        tokens = float(np.mean([len(e.ids) for e in model._tokenizer.encode_batch(queries)]))
        row = results[precision] = {"p50_ms": ms(walls, 50), "p90_ms": ms(walls, 90), "p99_ms": ms(walls, 99),
                                    "cpu_p50_ms": ms(cpus, 50), "tokens_mean": round(tokens, 1), "load": [before, load()]}
        print(f"query {precision} 1 thread, {len(queries)} queries of {tokens:.1f} tokens on average: p50 {row['p50_ms']:.2f} ms, "
              f"p90 {row['p90_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms (CPU p50 {row['cpu_p50_ms']:.2f} ms); load {row['load']}",
              flush=True)
    cosine = (vectors["int8"] * vectors["fp32"]).sum(1) / (
        np.linalg.norm(vectors["int8"], axis=1) * np.linalg.norm(vectors["fp32"], axis=1))
    results["int8_vs_fp32"] = {"cosine_min": round(float(cosine.min()), 5), "cosine_mean": round(float(cosine.mean()), 5)}
    print(f"query int8 vs fp32 cosine: min {cosine.min():.4f}, mean {cosine.mean():.5f}", flush=True)
    return results


def bench_documents(texts: list[str], engines: list[str], threads_list: list[int], batch_sizes: list[int],
                    repeat: int) -> dict:
    results = {}
    for engine, threads, batch_size in ((e, t, b) for e in engines for t in threads_list for b in batch_sizes):
        model = MiniLM(query_precision="fp32", batch_size=batch_size, threads=threads, document_engine=engine)
        model.embed_documents(texts[:batch_size])
        rates, loads = [], []
        for _ in range(repeat):
            before, start = load(), time.perf_counter()
            model.embed_documents(texts)
            rates.append(len(texts) / (time.perf_counter() - start))
            loads.append([before, load()])
        kind = f"{engine} {model._torch_documents.dtype}" if engine == "torch" else "onnxruntime fp32"
        row = results[f"{engine}/t{threads}/bs{batch_size}"] = {
            "per_s": round(statistics.median(rates), 1), "runs_per_s": [round(r, 1) for r in rates], "load": loads}
        print(f"documents {kind} {threads} thread(s) batch {batch_size:3d}: {row['per_s']:6.1f} abstracts/s "
              f"(runs {row['runs_per_s']}); load {loads}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=KNOWN_ITEM_QUERIES, help="JSONL with a 'text' per line")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data/demo/papers.jsonl.gz")
    parser.add_argument("--documents", type=int, default=256)
    parser.add_argument("--engines", default="onnxruntime,torch", help="document engines (torch: the bulk extra)")
    parser.add_argument("--threads", default="1,2", help="document threads")
    parser.add_argument("--batch-sizes", default="8,16,32")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    queries = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    with gzip.open(args.corpus, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for line in handle if line.strip()]
    papers = papers[max(CALIBRATION_PAPERS, len(papers) - args.documents):]
    texts = [document_text(p["title"], p.get("abstract") or "") for p in papers]
    lengths = np.array([len(e.ids) for e in MiniLM(query_precision="fp32")._tokenizer.encode_batch(texts)])

    print(f"{cpu_description()}; onnxruntime {onnxruntime.__version__}; load {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"{len(texts)} documents, tokens mean {lengths.mean():.0f}, {np.mean(lengths >= 256):.0%} truncated at 256", flush=True)
    result = {
        "cpu": cpu_description(), "onnxruntime": onnxruntime.__version__, "load_start": load(),
        "queries": bench_queries(queries),
        "documents": bench_documents(texts, args.engines.split(","), [int(x) for x in args.threads.split(",")],
                                     [int(x) for x in args.batch_sizes.split(",")], args.repeat),
        "load_end": load(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
