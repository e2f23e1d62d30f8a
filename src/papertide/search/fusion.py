"""Fusing keyword and semantic results: z-score normalisation, then a weighted sum.

Why not plain reciprocal rank fusion: RRF throws the scores away, so a paper that BM25 ranks
first by a wide margin counts no more than one that wins by a hair, and on known-item queries
(the paper someone half-remembers) plain RRF did worse than BM25 alone. Standardising each
retriever's scores (mean and spread of its own top results) keeps the margins: a clear winner
stays a clear winner, while papers both retrievers like rise. Papers a retriever did not return
get its lowest possible score (BM25: 0, no matching word; cosine: computed exactly).
The weight was chosen together with the keyword side's pair weight (``keyword/terms.py``) by
4-fold cross-validation over both benchmarks at once (benchmarks/search_fusion_cv.py, family
``joint``; the figures: research log, "Pair weight"). Do not raise it without re-running that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEYWORD_WEIGHT = 0.85  # semantic weight is 1 - this


@dataclass(frozen=True)
class Fused:
    paper_id: int
    score: float
    keyword_rank: int | None  # 1-based place in the keyword list, None if absent
    semantic_rank: int | None


def standardise(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(values - mean) / std of ``reference``; a flat or empty reference leaves values centred."""
    if len(reference) == 0:
        return np.zeros_like(values)
    spread = float(reference.std())
    return (values - float(reference.mean())) / (spread if spread > 1e-9 else 1.0)


def fuse(
    keyword: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    semantic_scores: dict[int, float],
    keyword_weight: float = KEYWORD_WEIGHT,
    limit: int | None = None,
) -> list[Fused]:
    """Rank the union of both lists (the best ``limit`` of it, if given).

    ``keyword`` and ``semantic`` are (paper id, score) best first; ``semantic_scores`` gives the
    cosine of every candidate that has a vector (so keyword-only candidates are scored too).
    """
    keyword_rank = {pid: i + 1 for i, (pid, _) in enumerate(keyword)}
    semantic_rank = {pid: i + 1 for i, (pid, _) in enumerate(semantic)}
    candidates = list(dict.fromkeys([pid for pid, _ in keyword] + [pid for pid, _ in semantic]))
    if not candidates:
        return []
    keyword_score = dict(keyword)
    kw = np.array([keyword_score.get(pid, 0.0) for pid in candidates])
    kw_ref = np.array([s for _, s in keyword])
    sem_ref = np.array([s for _, s in semantic])
    floor = float(sem_ref.min()) if len(sem_ref) else 0.0
    sem = np.array([semantic_scores.get(pid, floor) for pid in candidates])
    if not len(sem_ref):  # no semantic side (embedder down): keyword order, untouched
        keyword_weight = 1.0
    if not len(kw_ref):
        keyword_weight = 0.0
    total = keyword_weight * standardise(kw, kw_ref) + (1 - keyword_weight) * standardise(sem, sem_ref)
    order = np.argsort(-total, kind="stable")[:limit]
    return [
        Fused(candidates[i], float(total[i]), keyword_rank.get(candidates[i]), semantic_rank.get(candidates[i]))
        for i in order
    ]


def reciprocal_rank_fusion(lists: list[list[int]], k: int = 60) -> list[int]:
    """Plain RRF, kept as the baseline the benchmark compares against."""
    score: dict[int, float] = {}
    for ranked in lists:
        for i, pid in enumerate(ranked):
            score[pid] = score.get(pid, 0.0) + 1.0 / (k + i + 1)
    return sorted(score, key=lambda pid: -score[pid])
