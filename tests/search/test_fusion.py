"""Fusion is a pure function: check the behaviour the README promises."""

import numpy as np

from papertide.search.fusion import fuse, reciprocal_rank_fusion


def test_a_clear_keyword_winner_stays_first_when_semantic_disagrees_mildly():
    keyword = [(1, 30.0), (2, 10.0), (3, 9.5), (4, 9.0)]
    semantic = [(2, 0.52), (3, 0.51), (1, 0.50), (4, 0.49)]
    fused = fuse(keyword, semantic, dict(semantic))
    assert fused[0].paper_id == 1


def test_agreement_beats_one_sided_evidence():
    keyword = [(1, 10.0), (2, 9.9), (3, 5.0)]
    semantic = [(5, 0.80), (2, 0.79), (6, 0.40)]
    fused = fuse(keyword, semantic, {1: 0.1, 2: 0.79, 3: 0.1, 5: 0.80, 6: 0.40})
    assert fused[0].paper_id == 2
    assert fused[0].keyword_rank == 2 and fused[0].semantic_rank == 2


def test_without_a_semantic_side_the_keyword_order_is_kept():
    keyword = [(3, 7.0), (1, 5.0), (2, 1.0)]
    assert [f.paper_id for f in fuse(keyword, [], {})] == [3, 1, 2]
    assert fuse([], [], {}) == []


def test_semantic_only_results_are_ranked_by_similarity():
    semantic = [(8, 0.9), (9, 0.5)]
    assert [f.paper_id for f in fuse([], semantic, dict(semantic))] == [8, 9]


def test_rrf_baseline():
    assert reciprocal_rank_fusion([[1, 2, 3], [2, 3, 1]])[0] == 2


def test_a_limit_keeps_the_head_of_the_full_ranking():
    """The service fuses only what a page shows (``limit``): those must be the full ranking's first,
    in its order, ties included."""
    rng = np.random.default_rng(7)
    keyword = [(i, float(s)) for i, s in enumerate(np.round(rng.random(120) * 10, 1), start=1)]
    keyword.sort(key=lambda hit: -hit[1])
    semantic = [(i, float(s)) for i, s in enumerate(np.round(rng.random(100), 2), start=60)]
    semantic.sort(key=lambda hit: -hit[1])
    cosines = {i: float(s) for i, s in enumerate(np.round(rng.random(160), 2), start=1)}
    everything = fuse(keyword, semantic, cosines)
    assert len(everything) == 159
    for limit in (0, 1, 13, 31, 159, 500):
        assert fuse(keyword, semantic, cosines, limit=limit) == everything[:limit]
