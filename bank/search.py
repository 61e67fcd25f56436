"""Pieces of hybrid retrieval shared by product search and the assistant's knowledge base."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

RRF_K = 60

# Chosen from the recall/latency curve of benchmarks/vector_search.py (README, "Vector search at scale"; synthetic
# embedding-like vectors, the app's index: m 16, ef_construction 64). pgvector's default, 40, is below the product
# leg's depth (50); 100 raised recall@10 from 0.86 to 0.91 at 100k rows for 0.3 ms, and costs ~1 ms at 1M rows
# (p50 ~2 ms). Past that each doubling buys ~0.03 recall for ~1 ms: at a million rows the graph (m,
# ef_construction) is the lever, not this.
HNSW_EF_SEARCH = 100


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


def set_hnsw_search(cursor: CursorWrapper) -> None:
    """Set how pgvector's HNSW scans search, for the current transaction only (SET LOCAL, in one round trip: call
    it inside `transaction.atomic(savepoint=False)`, before the vector query; a savepoint would not scope it, and
    the rest of the transaction's vector queries are ours too)."""
    # With filters, a plain scan stops after ef_search candidates and returns fewer rows than asked (at 1M rows
    # and ef_search 40: 4 of 10 under a 10 % filter, 1 of 10 under a 3 % one); an iterative scan keeps walking the
    # graph until enough rows pass. relaxed_order recalled as well as strict_order or better at every ef_search,
    # with a far shorter tail at small ef_search (p95 7 ms against 144 ms at 40 under the 3 % filter); its rows
    # may come slightly out of order, so callers re-sort them.
    cursor.execute("SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
                   [str(HNSW_EF_SEARCH), "relaxed_order"])
