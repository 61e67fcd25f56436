"""Product search with and without reading the constraints in the query's words, on the demo catalogue, in one run.

    EMBEDDED_PG_DB=bank_search .venv/bin/python benchmarks/search.py [--repeat 5]

Installs the demo catalogue (128 products, English and Chinese) into its own database and embeds it if that has
not been done, then sends hand-labelled queries through `products.search.search_catalogue` twice each, alternating:
as the portal and the API send them (the constraints read and applied) and with `understand=False` (the words
alone, the peer: how search ranked before). Each query carries what a person means by it, written by hand here and
not by the parser -- "低风险理财" means wealth management at risk R2 or below, "3 year deposit" a deposit of 24 to
48 months (a demand deposit is not what was asked, though it can be left any day). It prints, per query and
overall:

- precision@5: the share of the first five results that meet what the query means (a query that fewer than five
  products meet cannot reach 1);
- the share of the results shown (at most five) that meet it: applied constraints show fewer, all right;
- whether the first result meets it;
- p50 latency of each path (the reading of the constraints included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_search")
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(ROOT / "var" / "bench" / "models"))
for _name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # as a web worker runs its models (gunicorn.conf.py)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from products.models import Product  # noqa: E402

TOP = 5

# (query, what it means). types: any of; risk: (lowest, highest); term: (shortest, longest) months, a fixed term
# only; not: types it must not be.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("低风险理财", {"types": {"wealth"}, "risk": (1, 2)}),
    ("low risk wealth management", {"types": {"wealth"}, "risk": (1, 2)}),
    ("保本理财", {"types": {"wealth"}, "risk": (1, 1)}),
    ("safe fund", {"types": {"fund"}, "risk": (1, 2)}),
    ("稳健的基金", {"types": {"fund"}, "risk": (1, 2)}),
    ("aggressive growth fund", {"types": {"fund"}, "risk": (4, 5)}),
    ("高风险高收益的基金", {"types": {"fund"}, "risk": (4, 5)}),
    ("USD deposit", {"types": {"deposit"}, "currency": "USD"}),
    ("美元存款", {"types": {"deposit"}, "currency": "USD"}),
    ("3 year deposit", {"types": {"deposit"}, "term": (24, 48)}),
    ("三年定期存款", {"types": {"deposit"}, "term": (24, 48)}),
    ("1 year deposit", {"types": {"deposit"}, "term": (9, 15)}),
    ("short term deposit", {"types": {"deposit"}, "term": (1, 12)}),
    ("credit card", {"types": {"credit_card"}}),
    ("信用卡", {"types": {"credit_card"}}),
    ("travel card", {"types": {"credit_card"}}),
    ("car loan", {"types": {"loan"}}),
    ("home loan", {"types": {"loan"}}),
    ("a loan I can repay within 3 years", {"types": {"loan"}, "term": (1, 36)}),
    ("medical insurance for my parents", {"types": {"insurance"}}),
    ("医疗保险", {"types": {"insurance"}}),
    ("government bonds", {"types": {"bond"}}),
    ("国债", {"types": {"bond"}}),
    ("not a fund, something safe", {"not": {"fund"}, "risk": (1, 2)}),
    ("不要基金，稳健一点", {"not": {"fund"}, "risk": (1, 2)}),
    ("conservative investment", {"risk": (1, 1)}),
    ("ESG fund", {"types": {"fund"}}),
    ("QDII fund in US dollars", {"types": {"fund"}, "currency": "USD"}),
    ("money I can take out any day", {"liquidity": "daily"}),
    ("deposit, at least 2% a year", {"types": {"deposit"}, "min_return": 2.0}),
]


def meets(product: Product, meaning: dict[str, Any]) -> bool:
    if "types" in meaning and product.type not in meaning["types"]:
        return False
    if product.type in meaning.get("not", ()):
        return False
    if "risk" in meaning and not meaning["risk"][0] <= product.risk_level <= meaning["risk"][1]:
        return False
    if "currency" in meaning and product.currency != meaning["currency"]:
        return False
    if "term" in meaning and (product.term_months is None
                              or not meaning["term"][0] <= product.term_months <= meaning["term"][1]):
        return False
    if "liquidity" in meaning and product.liquidity != meaning["liquidity"]:
        return False
    if "min_return" in meaning and (product.expected_return_max is None
                                    or float(product.expected_return_max) < meaning["min_return"]):
        return False
    return True


def prepare() -> None:
    from customers.demo.generator import install_catalogue

    call_command("migrate", interactive=False, verbosity=0)
    install_catalogue()
    if Product.objects.filter(embedding__isnull=True).exists() or Product.objects.filter(
            search_document__isnull=True).exists():
        call_command("embed_products")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="Timed runs of each query on each path.")
    args = parser.parse_args()
    prepare()
    from products.search import search_catalogue

    for query, _ in QUERIES[:3]:  # load the encoders and warm the caches
        search_catalogue(query=query, limit=TOP)
    print(f"{Product.objects.filter(is_active=True).count()} active products, {len(QUERIES)} labelled queries, "
          f"top {TOP}\n")
    print(f"{'query':<36}{'words alone':>14}{'understood':>12}   read")
    totals: dict[bool, dict[str, list[float]]] = {flag: {"precision": [], "shown": [], "first": [], "ms": []}
                                                   for flag in (False, True)}
    for query, meaning in QUERIES:
        shown = {}
        for _ in range(args.repeat):
            for understand in (False, True):
                started = time.perf_counter()
                found = search_catalogue(query=query, limit=TOP, understand=understand)
                totals[understand]["ms"].append((time.perf_counter() - started) * 1000)
                shown[understand] = found
        cells = []
        for understand in (False, True):
            good = [meets(hit.product, meaning) for hit in shown[understand].hits[:TOP]]
            precision = sum(good) / TOP
            totals[understand]["precision"].append(precision)
            totals[understand]["shown"].append(sum(good) / len(good) if good else 0.0)
            totals[understand]["first"].append(float(bool(good) and good[0]))
            cells.append(f"{sum(good)}/{TOP}{'' if good and good[0] else ' ✗1st'}")
        found = shown[True]
        read = "; ".join(found.understood.describe("en")) or "—"
        if not found.understood.is_empty and not found.applied:
            read += " (nothing fits: words alone)"
        width = 36 - sum(1 for ch in query if ord(ch) > 0x2E80)  # CJK characters take two columns
        print(f"{query:<{width}}{cells[0]:>14}{cells[1]:>12}   {read}")
    print()
    for understand, label in ((False, "words alone (peer)"), (True, "constraints read and applied")):
        t = totals[understand]
        print(f"{label:<30} precision@{TOP} {statistics.fmean(t['precision']):.3f}   of those shown "
              f"{statistics.fmean(t['shown']):.3f}   first result right {statistics.fmean(t['first']):.3f}   "
              f"p50 {statistics.median(t['ms']):.1f} ms")
    ratio = statistics.median(totals[True]["ms"]) / statistics.median(totals[False]["ms"])
    print(f"\nlatency, read and applied / words alone: {ratio:.2f}×")


if __name__ == "__main__":
    main()
