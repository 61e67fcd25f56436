"""How fast the demo bank is generated: rows per second per table, wall time, and an extrapolation to 1M.

    python benchmarks/seed.py --sizes 10000,100000

Runs against a throwaway embedded PostgreSQL under var/bench/pg-seed (never the platform's own database),
migrated first and reset before each size. DATABASE_URL is ignored here on purpose: a benchmark that
truncates tables must not be pointed at a real database by an environment variable left set.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated numbers of customers.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--datadir", default=str(ROOT / "var" / "bench" / "pg-seed"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    os.environ.pop("DATABASE_URL", None)
    os.environ["EMBEDDED_PG_DATADIR"] = args.datadir
    os.environ["EMBEDDED_PG_DB"] = "bench_seed"
    os.environ["BANK_VAR_DIR"] = str(Path(args.datadir).parent / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from customers.demo.generator import seed_demo_bank

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"throwaway database migrated in {time.monotonic() - started:.1f} s ({args.datadir})")
    for size in sizes:
        report = seed_demo_bank(
            customers=size, seed=args.seed, months=args.months, reset=True, progress=sys.stderr.isatty()
        )
        total_rows = sum(report.rows.values())
        print(
            f"\n== {size:,} customers, {args.months} months: {report.total_seconds:.1f} s wall, "
            f"{total_rows:,} rows, {total_rows / report.total_seconds:,.0f} rows/s overall "
            f"({size / report.total_seconds:,.0f} customers/s)"
        )
        print(
            f"   numpy generation {report.generate_seconds:.1f} s, "
            f"index rebuild {report.index_seconds:.1f} s, "
            f"COPY {sum(report.copy_seconds.values()):.1f} s (incl. formatting rows as text)"
        )
        print(f"   {'table':<32}{'rows':>12}{'COPY s':>9}{'rows/s (COPY)':>15}")
        for table, rows in report.rows.items():
            seconds = report.copy_seconds[table]
            print(f"   {table:<32}{rows:>12,}{seconds:>9.2f}{rows / max(seconds, 1e-9):>15,.0f}")
        # Linear: chunks are independent and every table's cost is per row; index depth grows only with log n.
        million = report.total_seconds * 1_000_000 / size
        print(f"   extrapolated to 1,000,000 customers: {million / 60:.0f} min")


if __name__ == "__main__":
    main()
