"""Batch scoring: every consenting customer's top-k suitable products, scored on the ML device, written whole.
The scoring is `advisor.ml.batch.DeviceScorer`; this module runs it over the bank and owns the results table.

    run = score_recommendations(chunk=4096, device="auto", progress=tqdm_progress())
    run.customers, run.rows, run.seconds   # {"read": …, "score": …, "ranker": …, "mask+topk": …, "write": …}

Per chunk of customers (ordered by pk):
1. **read** -- the next chunk by keyset (`id > last ORDER BY id LIMIT chunk`), then their rows, profile features
   and embeddings, history and the gate's facts by the chunk's id range, each table's rows packed into one bytea
   that numpy reads as a record array (`advisor.ml.batch_read`): the values the online path's readers
   (`customer_rows`, `interaction_events`, `CustomerFacts.of_many`) give, six queries a chunk and no Python object
   per event.
2. **score** -- each candidate generator as tensor products on the device (ALS fold-in as one batched float64
   solve, item kNN, feature and embedding content, segment popularity) and their percentile ranks by a stable
   sort on the device. Then the LightGBM ranker scores the pairs the online scorer would rank -- every
   *suitable* product up to `scoring.FULL_SCORING_UP_TO` products (a pair's features do not depend on which other
   pairs are scored, so leaving the unsuitable ones out changes no score), else each generator's top
   `scoring.POOL` -- on the CPU: LightGBM has no GPU prediction, so its share is reported apart ("ranker").
3. **mask + top-k** -- the suitability mask as a boolean tensor on the device, from the facts and the
   `CatalogueRules` arrays, rule by rule as `SuitabilityGate` applies them; products dismissed within the quiet
   period are left out as the service does; the best max(4k, 40) by a stable sort (ties by catalogue order) and
   MMR over the product vectors (λ = `services.MMR_LAMBDA`), batched: the list `recommend_products` would give.
4. **write** -- rows packed by numpy in PostgreSQL's binary COPY format into a fresh table, one COPY a chunk;
   at the end its keys and indexes are built and it replaces the live table in one short transaction, so readers
   see the previous run until then and never part of one. One run at a time (an advisory lock).

Where it can differ from the online list: float32 products computed by torch rather than numpy can differ in the
last bit, which reorders only exact near-ties. Above FULL_SCORING_UP_TO products both take each generator's top
POOL by its percentile ranks, so products tied at the POOL-th score are broken alike, by position.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from advisor.ml import scoring
from advisor.ml.batch import DeviceScorer, DeviceUnavailable, StepClock, resolve_device
from advisor.models import BatchRecommendation
from advisor.suitability import catalogue_rules
from customers.models import Customer

__all__ = ["BatchAlreadyRunning", "BatchRun", "DeviceUnavailable", "ResultsTable", "score_recommendations"]

Progress = Callable[[str, int], Callable[[int], None]] | None
DEFAULT_CHUNK = 4096
# Bounds a chunk's (customers × products) matrices: about 12 of them live at once, float32.
MAX_CHUNK_CELLS = 4_000_000
_LOCK_KEY = 0x6164_7662  # pg advisory lock: one batch run at a time ("advb")
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class BatchAlreadyRunning(RuntimeError):
    """Another batch run holds the lock."""


@dataclass
class BatchRun:
    model_version_id: int
    model_label: str
    computed_at: datetime
    device: str
    k: int
    customers: int = 0
    rows: int = 0
    customers_without_any: int = 0
    ranked_pairs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    threads: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model_label, "device": self.device, "customers": self.customers, "rows": self.rows,
            "customers_without_any": self.customers_without_any, "ranked_pairs": self.ranked_pairs,
            "seconds": {name: round(value, 3) for name, value in self.seconds.items()},
            "wall_seconds": round(self.wall_seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
            "rows_per_second": round(self.rows / self.wall_seconds) if self.wall_seconds else None,
        }


def score_recommendations(
    *,
    k: int = 10,
    chunk: int = DEFAULT_CHUNK,
    device: str | None = None,
    progress: Progress = None,
    now: datetime | None = None,
) -> BatchRun:
    """Score every customer who consented to profiling and replace the stored batch results whole (a run is
    always of the whole bank: the swap replaces the table, so a partial run would drop everyone else's lists).

    Guarantees: every stored product passes `SuitabilityGate` for its customer as of this run; a customer with
    nothing suitable gets no rows; every row records the model version; the previous run stays readable until
    the new one replaces it in one transaction, and a failure leaves it in place. Raises DeviceUnavailable,
    BatchAlreadyRunning, and scoring.RecommenderUnavailable when no verified model is active.
    """
    import torch

    if not 1 <= k <= 50:
        raise ValueError(f"k must be from 1 to 50, got {k}")
    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    dev = resolve_device(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    now = now or timezone.now()
    rules = catalogue_rules()
    loaded = scoring.active_recommender(catalogue_stamp=rules.stamp)
    scorer = DeviceScorer(loaded, rules, device=dev, k=k, now=now)
    chunk = max(1, min(chunk, MAX_CHUNK_CELLS // max(1, len(loaded.product_ids))))
    run = BatchRun(model_version_id=loaded.version.pk, model_label=loaded.version.label, computed_at=now,
                   device=dev, k=k, threads=torch.get_num_threads())
    clock = StepClock(run.seconds, synchronize=dev == "cuda")
    advance = None
    if progress is not None:
        advance = progress("Batch scoring", Customer.objects.filter(consent_profiling=True).count())
    with ResultsTable() as table:
        after: int | None = None
        while True:
            with clock("read"):
                state = scorer.read(after=after, limit=chunk)
            if state is None:
                break
            owners, ranks, products, scores = scorer.top_k(state, clock)
            with clock("write"):
                table.write(customers=owners, ranks=ranks, products=products, scores=scores,
                            model_version_id=run.model_version_id, computed_at=now)
            size, after = len(state.pks), int(state.pks[-1])
            run.customers += size
            run.rows += len(owners)
            run.customers_without_any += size - len(np.unique(owners))
            run.ranked_pairs += state.ranked_pairs
            if advance is not None:
                advance(size)
            if size < chunk:
                break  # the last chunk: no need to ask for another
        with clock("write"):
            table.swap()
    run.wall_seconds = time.perf_counter() - started
    run.cpu_seconds = time.process_time() - cpu_started
    return run


# --- writing -------------------------------------------------------------------------------------------------

_COLUMNS = ("id", "customer_id", "rank", "product_id", "score", "model_version_id", "computed_at")
_ROW = np.dtype([
    ("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("customer_len", ">i4"), ("customer", ">i8"),
    ("rank_len", ">i4"), ("rank", ">i2"), ("product_len", ">i4"), ("product", ">i8"), ("score_len", ">i4"),
    ("score", ">f8"), ("model_len", ">i4"), ("model", ">i8"), ("at_len", ">i4"), ("at", ">i8"),
])


def packed_rows(*, first_id: int, customers: np.ndarray, ranks: np.ndarray, products: np.ndarray,
                scores: np.ndarray, model_version_id: int, computed_at: datetime) -> bytes:
    """Rows of `_COLUMNS` in PostgreSQL's binary COPY tuple format, built by numpy (no per-row Python)."""
    rows = np.empty(len(customers), dtype=_ROW)
    rows["fields"] = len(_COLUMNS)
    rows["id_len"] = rows["customer_len"] = rows["product_len"] = rows["score_len"] = 8
    rows["model_len"] = rows["at_len"] = 8
    rows["rank_len"] = 2
    rows["id"] = np.arange(first_id, first_id + len(customers), dtype=np.int64)
    rows["customer"], rows["rank"], rows["product"], rows["score"] = customers, ranks, products, scores
    rows["model"] = model_version_id
    delta = computed_at - _PG_EPOCH
    rows["at"] = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return rows.tobytes()


class ResultsTable:
    """The batch results table, rebuilt: rows go into a fresh table, which `swap()` puts in place of the live one.

    Used as a context manager: entering takes the run lock and creates the fresh table (dropping one a crashed run
    left behind); leaving without a swap drops it, so the live table is untouched by a failed run."""

    def __init__(self) -> None:
        self.live = BatchRecommendation._meta.db_table
        self.fresh = f"{self.live}_next"
        self.next_id = 1
        self.swapped = False
        self._locked = False

    def __enter__(self) -> ResultsTable:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise BatchAlreadyRunning("another batch scoring run is in progress")
            self._locked = True
            q = connection.ops.quote_name
            cursor.execute(f"DROP TABLE IF EXISTS {q(self.fresh)}")
            # Defaults, identity and CHECK constraints now; keys and indexes after the load (building them once
            # is cheaper than maintaining them row by row).
            cursor.execute(
                f"CREATE TABLE {q(self.fresh)} (LIKE {q(self.live)} INCLUDING DEFAULTS INCLUDING IDENTITY "
                "INCLUDING CONSTRAINTS)"
            )
        return self

    def write(self, *, customers: np.ndarray, ranks: np.ndarray, products: np.ndarray, scores: np.ndarray,
              model_version_id: int, computed_at: datetime) -> None:
        if not len(customers):
            return
        data = packed_rows(first_id=self.next_id, customers=customers, ranks=ranks, products=products,
                           scores=scores, model_version_id=model_version_id, computed_at=computed_at)
        q = connection.ops.quote_name
        sql = f"COPY {q(self.fresh)} ({', '.join(map(q, _COLUMNS))}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            # In block mode psycopg sends bytes as they are: the signature and the trailer are ours to write.
            copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + data + b"\xff\xff")
        self.next_id += len(customers)

    def swap(self) -> None:
        """Build the live table's keys and indexes on the fresh one, then replace the live table in one
        transaction (its ACCESS EXCLUSIVE lock is held only for the renames)."""
        q = connection.ops.quote_name
        renames: list[tuple[str, str, str]] = []  # (kind, temporary name, live name)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {q(self.fresh)} ALTER COLUMN id RESTART WITH {int(self.next_id)}")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname", [self.live],
            )
            for name, definition in cursor.fetchall():
                temporary = _temporary_name(name)
                cursor.execute(f"ALTER TABLE {q(self.fresh)} ADD CONSTRAINT {q(temporary)} {definition}")
                renames.append(("constraint", temporary, name))
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
                "ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname", [self.live],
            )
            for name, definition in cursor.fetchall():
                temporary = _temporary_name(name)
                statement = re.sub(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ ",
                                   rf"\1 {q(temporary)} ON {q(self.fresh)} ", definition)
                cursor.execute(statement)
                renames.append(("index", temporary, name))
            cursor.execute(f"ANALYZE {q(self.fresh)}")
            with transaction.atomic():
                cursor.execute(f"LOCK TABLE {q(self.live)} IN ACCESS EXCLUSIVE MODE")
                cursor.execute(f"DROP TABLE {q(self.live)}")
                cursor.execute(f"ALTER TABLE {q(self.fresh)} RENAME TO {q(self.live)}")
                for kind, temporary, name in renames:
                    if kind == "constraint":
                        cursor.execute(f"ALTER TABLE {q(self.live)} RENAME CONSTRAINT {q(temporary)} TO {q(name)}")
                    else:
                        cursor.execute(f"ALTER INDEX {q(temporary)} RENAME TO {q(name)}")
        self.swapped = True

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.swapped and connection.connection is not None and not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(self.fresh)}")
        finally:
            if self._locked and not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def _temporary_name(name: str) -> str:
    return f"{name[:57]}_next"
