"""Pieces of hybrid retrieval shared by product search and the assistant's knowledge base."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Iterable[Iterable[int]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Fuse rankings (ids, best first) by Reciprocal Rank Fusion: score = Σ weight / (k + rank).

    RRF needs no calibration between the legs' scores (cosine similarity and ts_rank_cd live on different
    scales); k = 60 is the value of Cormack, Clarke & Büttcher (SIGIR 2009). Weights (default 1 each) let a
    leg that is known to be more precise count for more.
    """
    fused: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return fused
