"""Synthetic embedding vectors for the 1M benchmarks, and a check that they look like real ones.

    python benchmarks/ann_vectors.py [--queries-file ../shared/data/benchmark_known_item/queries.jsonl]
    python benchmarks/ann_vectors.py --by-size 2500,5000,9877,100000,1000000

There are ~10k real vectors (the demo corpus's, in the repo); the HNSW benchmarks need 1M.
Two ways to get them:

- ``pairmix`` (the first one): ``real[a] + 0.6 * real[b] + noise 0.03``, normalised. Every real
  vector gets ~100 near-copies at 1M, so a query's exact 10th and 11th neighbours are nearly tied
  (0.001 cosine apart, median): a set no real corpus looks like, and a harder one for HNSW.
- ``fitted``: a density model of the real vectors, sampled. k-means (spherical, on the unit
  vectors) splits them into clusters of ~50; each cluster is a Gaussian with the cluster's mean
  and sample covariance. A synthetic vector picks a cluster in proportion to its size, is drawn
  from its Gaussian and normalised. Sampling needs no 384x384 factorisation: the covariance is
  ``C'C/(n-1)`` for the centred members ``C``, so a draw is ``mean + C'z/sqrt(n-1)``, ``z``
  standard normal. A cluster has fewer members than the 384 dimensions, so its Gaussian lives in
  their span; shrinking it towards the identity (Ledoit-Wolf) fills the other dimensions with
  noise and puts the samples further apart than real neighbours (the validation shows both).

Run as a script, it validates both against the real set at its own size: for the known-item
queries (int8, as the service embeds them) and for real documents, the 1-NN cosine, the 10th-NN
cosine and the gap between the 10th and 11th neighbours, medians and deciles, for the real set,
fitted samples of the same size and a pair-mix sample; then the same fitted to one half of the
real vectors and compared with the other half (not a copy of the points it was fitted on), and
fitted to one half but sampled at the whole set's size (twice the density it saw: the step the
1M benchmark takes a hundredfold). ``--by-size`` prints how the known-item queries' 10th neighbour
and 10th-11th gap change with the size of the set: real subsets up to the real size, synthetic
sets (of each kind) at every size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from shared_data import KNOWN_ITEM_QUERIES

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DEMO_VECTORS = REPO / "data" / "demo" / "papers.embeddings.npz"
QUERIES = KNOWN_ITEM_QUERIES
KINDS = ("pairmix", "fitted")
CLUSTERS = 200  # chosen by the validation below (research log, "Synthetic vectors fitted ..."): ~50 a cluster
BLOCK = 100_000


def real_vectors(path: Path = DEMO_VECTORS) -> np.ndarray:
    """The demo corpus's vectors (float32, unit length)."""
    with np.load(path) as data:
        vectors = data["vectors"].astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def pairmix(real: np.ndarray, size: int, seed: int = 1) -> np.ndarray:
    """``size`` float16 vectors, each a real one plus 0.6 of another plus noise (the old generator)."""
    rng = np.random.default_rng(seed)
    mix = rng.integers(0, len(real), size=(size, 2))
    out = np.empty((size, real.shape[1]), dtype=np.float16)
    for start in range(0, size, BLOCK):
        m = mix[start : start + BLOCK]
        block = real[m[:, 0]] + 0.6 * real[m[:, 1]]
        block += rng.standard_normal(block.shape).astype(np.float32) * 0.03
        out[start : start + len(m)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


class FittedDensity:
    """A mixture of per-cluster Gaussians fitted to real unit vectors (see the module docstring).

    ``isotropic`` is the share of the Ledoit-Wolf shrinkage applied to each cluster's covariance:
    0 (the default, chosen by the validation) keeps each cluster's sample covariance, whose rank is
    its size minus one (~50 dimensions); 1 applies all of it, which spreads the samples over all
    384 dimensions and puts them further apart than real vectors are (research log, "Synthetic vectors
    fitted to the real ones")."""

    def __init__(self, real: np.ndarray, clusters: int = CLUSTERS, isotropic: float = 0.0, seed: int = 0):
        from sklearn.cluster import KMeans
        from sklearn.covariance import ledoit_wolf_shrinkage

        labels = KMeans(n_clusters=clusters, n_init=1, random_state=seed).fit_predict(real)
        self.members, self.means, self.shrinkage, self.spread = [], [], [], []
        for k in range(clusters):
            points = real[labels == k]
            if len(points) < 2:
                continue
            mean = points.mean(axis=0)
            centred = points - mean
            self.members.append(centred / np.sqrt(len(points) - 1))  # C / sqrt(n-1): C'C/(n-1) is the covariance
            self.means.append(mean)
            shrinkage = float(ledoit_wolf_shrinkage(centred, assume_centered=True)) if isotropic else 0.0
            self.shrinkage.append(min(1.0, max(0.0, isotropic * shrinkage)))
            self.spread.append(float((centred**2).sum() / (len(points) - 1) / real.shape[1]))  # trace / d
        self.weights = np.array([len(c) for c in self.members], dtype=np.float64)
        self.weights /= self.weights.sum()

    def sample(self, size: int, seed: int = 1) -> np.ndarray:
        """``size`` float16 unit vectors."""
        rng = np.random.default_rng(seed)
        dim = self.means[0].shape[0]
        cluster = rng.choice(len(self.means), size=size, p=self.weights)
        out = np.empty((size, dim), dtype=np.float16)
        for start in range(0, size, BLOCK):
            chosen = cluster[start : start + BLOCK]
            block = np.empty((len(chosen), dim), dtype=np.float32)
            for k in np.unique(chosen):
                rows = np.flatnonzero(chosen == k)
                members, a = self.members[k], self.shrinkage[k]
                z = rng.standard_normal((len(rows), len(members))).astype(np.float32)
                w = rng.standard_normal((len(rows), dim)).astype(np.float32)
                block[rows] = self.means[k] + np.sqrt(1 - a) * (z @ members) + np.sqrt(a * self.spread[k]) * w
            out[start : start + len(chosen)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out


def synthetic(kind: str, real: np.ndarray, size: int, seed: int = 1, clusters: int = CLUSTERS) -> np.ndarray:
    """``size`` synthetic float16 unit vectors of ``kind`` (``pairmix`` or ``fitted``) from ``real``."""
    if kind == "pairmix":
        return pairmix(real, size, seed)
    if kind == "fitted":
        return FittedDensity(real, clusters).sample(size, seed)
    raise ValueError(f"unknown vectors {kind!r} (known: {', '.join(KINDS)})")


def benchmark_vectors(kind: str, real: np.ndarray, size: int, seed: int = 1) -> np.ndarray:
    """A benchmark set of ``size``: the real vectors first, then synthetic ones of ``kind``
    (as search_latency.py builds its databases: the real papers, then synthetic ones)."""
    real16 = real[:size].astype(np.float16)
    if size <= len(real):
        return real16
    return np.concatenate([real16, synthetic(kind, real, size - len(real), seed)])


def neighbour_statistics(points: np.ndarray, queries: np.ndarray, own_rows: np.ndarray | None = None) -> dict:
    """For each query: cosine of its 1st and 10th nearest point and the gap between its 10th and
    11th (p10 / median / p90). ``own_rows``: the queries are these points of the set, which are
    not their own neighbours."""
    scores = queries.astype(np.float32) @ points.astype(np.float32).T
    if own_rows is not None:
        scores[np.arange(len(queries)), own_rows] = -np.inf
    top = -np.sort(-np.partition(scores, scores.shape[1] - 11, axis=1)[:, -11:], axis=1)
    figures = {"1-NN": top[:, 0], "10-NN": top[:, 9], "gap 10-11": top[:, 9] - top[:, 10]}
    return {name: tuple(float(np.percentile(v, p)) for p in (10, 50, 90)) for name, v in figures.items()}


def query_vectors(path: Path) -> np.ndarray:
    """The known-item queries, embedded as the service embeds them (int8, one thread)."""
    from papertide.search.semantic.registry import load_embedder

    embedder = load_embedder("default", threads=1)
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    return np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)


def by_size(sizes: list[int], queries: np.ndarray) -> None:
    """The queries' exact 10th-neighbour cosine and 10th-11th gap (medians) by set size."""
    real = real_vectors()
    print(f"{'set':<10} {'size':>10} {'10-NN median':>13} {'gap 10-11 median':>17} {'1st-10th median':>16}")
    rows = [("real", n, real[np.random.default_rng(3).permutation(len(real))[:n]]) for n in sizes if n <= len(real)]
    rows += [(kind, n, None) for kind in KINDS for n in sizes]
    density = FittedDensity(real)
    for kind, size, points in rows:
        if points is None:
            points = pairmix(real, size) if kind == "pairmix" else density.sample(size)
        top = np.empty((len(queries), 0), np.float32)
        for start in range(0, size, BLOCK):
            block = queries @ points[start : start + BLOCK].astype(np.float32).T
            top = np.concatenate([top, -np.sort(-block, axis=1)[:, :11]], axis=1)
            top = -np.sort(-top, axis=1)[:, :11]
        print(f"{kind:<10} {size:>10,} {np.median(top[:, 9]):>13.4f} {np.median(top[:, 9] - top[:, 10]):>17.4f} "
              f"{np.median(top[:, 0] - top[:, 9]):>16.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries-file", type=Path, default=QUERIES)
    parser.add_argument("--documents", type=int, default=1000, help="Points of each set used as queries against it.")
    parser.add_argument("--by-size", default="", help="Sizes for the 10th neighbour and gap by set size (instead of the validation).")
    args = parser.parse_args()
    queries = query_vectors(args.queries_file)
    if args.by_size:
        return by_size([int(n) for n in args.by_size.split(",")], queries)
    real = real_vectors()
    order = np.random.default_rng(7).permutation(len(real))
    half, other = real[order[: len(real) // 2]], real[order[len(real) // 2 :]]
    k = CLUSTERS
    groups = {
        f"sets of {len(real):,}": {
            "real": real,
            "pairmix": pairmix(real, len(real)),
            f"fitted, k={k} (the generator)": FittedDensity(real, k).sample(len(real)),
            f"fitted, k={k}, Ledoit-Wolf shrunk": FittedDensity(real, k, isotropic=1).sample(len(real)),
            f"fitted, k={2 * k}": FittedDensity(real, 2 * k).sample(len(real)),
        },
        f"sets of {len(other):,}: fitted to the other half": {
            "real, the held-out half": other,
            "pairmix of the other half": pairmix(half, len(other)),
            f"fitted, k={k // 2} (the generator)": FittedDensity(half, k // 2).sample(len(other)),
            f"fitted, k={k // 2}, Ledoit-Wolf shrunk": FittedDensity(half, k // 2, isotropic=1).sample(len(other)),
            f"fitted, k={k}": FittedDensity(half, k).sample(len(other)),
        },
        f"sets of {len(real):,}: fitted to half of them, sampled at twice its size": {
            "real": real,
            "pairmix of the half": pairmix(half, len(real)),
            f"fitted, k={k // 2} (the generator)": FittedDensity(half, k // 2).sample(len(real)),
        },
    }
    print(f"{len(real):,} real vectors; queries: the {len(queries)} known-item queries, then {args.documents} points of each set itself")
    print("cosines, p10 / median / p90")
    for title, group in groups.items():
        print(f"\n{title}\n{'set':<38} {'queries 1-NN':<21} {'10-NN':<21} {'gap 10-11':<21} {'own points 1-NN':<21} {'10-NN':<21} gap 10-11")
        for name, points in group.items():
            own = np.random.default_rng(8).choice(len(points), size=min(args.documents, len(points)), replace=False)
            figures = [neighbour_statistics(points, queries), neighbour_statistics(points, points[own], own)]
            cells = [" / ".join(f"{x:.3f}" for x in f[n]) for f in figures for n in f]
            print(f"{name:<38} " + " ".join(f"{c:<21}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
