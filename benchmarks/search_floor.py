"""Calibrating the relevance floor: how similar relevant papers are to their queries, and how
similar the nearest paper is to a query that matches nothing.

    python benchmarks/search_floor.py [--embedder default]

For each public set (known-item, CACM: their corpora's cached vectors from ``search_quality.py``),
the cosine between each query and each relevant paper; for made-up queries
(``made_up_queries.py``), the best cosine over each corpus. Prints quantiles of both, and for
candidate floors the share of relevant papers a semantic-only floor would drop and the share of
made-up queries it would answer with nothing. The floor in ``papertide.search.floor`` is read
off this table (its figures: docs/performance.md, "Relevance floor").
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from made_up_queries import made_up_queries  # noqa: E402
from search_quality import read_judgments, read_jsonl  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402

from papertide.search.semantic.registry import load_embedder  # noqa: E402


def corpus_vectors(corpus: Path, cache: Path, model_id: str) -> tuple[list[str], np.ndarray]:
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]
    path = cache / f"{corpus.parent.name}-{corpus.name}-{digest}-{model_id.split('/')[-1]}.npz"
    if not path.exists():
        sys.exit(f"no cached vectors {path}: run search_quality.py on {corpus} first")
    data = np.load(path)
    return [str(i) for i in data["arxiv_ids"]], data["vectors"].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="default")
    parser.add_argument("--cache", type=Path, default=Path(".cache/search_quality"))
    parser.add_argument("--made-up", type=int, default=200)
    args = parser.parse_args()
    data = SHARED_DATA
    embedder = load_embedder(args.embedder, threads=1)
    sets = {
        "known-item": (data / "benchmark_known_item/corpus.jsonl.gz", data / "benchmark_known_item/queries.jsonl", None),
        "cacm": (data / "benchmark_cacm/corpus.jsonl", data / "benchmark_cacm/queries.jsonl", data / "benchmark_cacm/qrels.tsv"),
    }
    relevant_cosines, made_up_best = [], []
    made_up = made_up_queries(args.made_up, seed=7)
    made_up_vectors = np.stack([embedder.embed_query(q["text"]) for q in made_up])
    for name, (corpus, queries_path, qrels) in sets.items():
        ids, vectors = corpus_vectors(corpus, args.cache, embedder.model_id)
        row = {doc: i for i, doc in enumerate(ids)}
        queries = read_jsonl(queries_path)
        judged = read_judgments(queries, qrels)
        cosines = []
        for query in queries:
            vector = embedder.embed_query(query["text"])
            cosines += [float(vectors[row[doc]] @ vector) for doc in judged.get(query["query_id"], {}) if doc in row]
        best = (made_up_vectors @ vectors.T).max(axis=1)
        relevant_cosines += cosines
        made_up_best += best.tolist()
        print(f"{name}: relevant cosine p1 {np.quantile(cosines, 0.01):.3f} p5 {np.quantile(cosines, 0.05):.3f} "
              f"median {np.median(cosines):.3f}; made-up best cosine median {np.median(best):.3f} "
              f"p95 {np.quantile(best, 0.95):.3f} max {best.max():.3f}")
    relevant, best = np.array(relevant_cosines), np.array(made_up_best)
    print(f"{'floor':>6} {'relevant dropped':>17} {'made-up answered empty':>23}")
    for floor in np.arange(0.20, 0.56, 0.025):
        print(f"{floor:>6.3f} {np.mean(relevant < floor):>17.3f} {np.mean(best < floor):>23.3f}")


if __name__ == "__main__":
    main()
