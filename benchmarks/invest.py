"""Investment advice: quality of the allocations against static model portfolios, and speed of each path.

    EMBEDDED_PG_DB=bank_bench_invest python benchmarks/invest.py --customers 2000 --advice 300

Builds (once, in its own database) a demo bank, gives --advice random customers a risk assessment from random
questionnaire answers, then prints:

- quality: for each risk level, the mean-variance allocation's expected return and volatility against a static
  model portfolio of the same level (the classic bank "model portfolios": R1 80/20 cash/government bonds … R5
  10/10/80 cash/bonds/equity, clipped into the level's bounds), both under the same assumptions; the ratio of
  return per unit of volatility, and whether each stays within the level's volatility budget;
- suitability: an independent SQL check that no advised product is above the customer's assessed level;
- speed: advice end to end (`advise_allocation`: eligibility, optimisation, mapping, report, insert) p50/p95
  against recommending products for the same customers (the platform's other advice path); the optimiser
  alone; a 5,000-path goal projection; the periodic review in customers per second.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench_invest")
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "models"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from advisor.investing import goals, questionnaire, services  # noqa: E402
from advisor.investing.allocation import market_from_inputs  # noqa: E402
from advisor.investing.asset_classes import ASSET_CLASSES, policy_for  # noqa: E402
from advisor.investing.optimiser import mean_variance, portfolio_stats  # noqa: E402
from advisor.ml.training import train_recommender  # noqa: E402
from advisor.services import NoActiveRecommender, recommend_products  # noqa: E402
from bank.registry import active_version  # noqa: E402
from customers.models import Customer  # noqa: E402

MODEL_PORTFOLIOS = {  # the static peer: cash, gov, corp, dom equity, global equity, gold
    1: (0.80, 0.20, 0.00, 0.00, 0.00, 0.00),
    2: (0.30, 0.40, 0.20, 0.10, 0.00, 0.00),
    3: (0.15, 0.30, 0.20, 0.25, 0.10, 0.00),
    4: (0.10, 0.20, 0.15, 0.35, 0.20, 0.00),
    5: (0.05, 0.05, 0.05, 0.50, 0.30, 0.05),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def clipped(weights: tuple[float, ...], level: int) -> dict[str, float]:
    policy = policy_for(level)
    w = {c: min(max(x, policy.min_weights[c]), policy.max_weights[c])
         for c, x in zip(ASSET_CLASSES, weights, strict=True)}
    w["cash"] += 1 - sum(w.values())  # whatever clipping freed goes to cash
    return w


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--advice", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print(f"seeding {args.customers:,} customers, 6 months …", flush=True)
        call_command("seed_demo", customers=args.customers, seed=7, months=6, quiet=True)
    if active_version("advisor.recommender") is None:
        print("training the recommender (the speed peer) …", flush=True)
        train_recommender(activate=True, evaluate_first=False)
    print(f"bank: {Customer.objects.count():,} customers; {os.cpu_count()} CPUs, CPU only\n")
    rng = random.Random(args.seed)  # nosec B311  # seeded synthetic benchmark data, not security

    market = market_from_inputs(services.assumptions_snapshot(services.active_assumptions()))
    cash = market.expected_returns[list(market.asset_classes).index("cash")]
    print("quality: mean-variance vs the static model portfolio of the level, same assumptions and bounds")
    print("level | ours: return   vol  Sharpe | model: return   vol  Sharpe | Sharpe ×  | at the model's vol: "
          "ours vs model return")
    for level in range(1, 6):
        policy = policy_for(level)
        ours = mean_variance(market, policy)
        peer_r, peer_v = portfolio_stats(clipped(MODEL_PORTFOLIOS[level], level), market)
        same_risk = mean_variance(market, replace(policy, max_volatility=peer_v))
        ours_sharpe, peer_sharpe = (ours.expected_return - cash) / ours.volatility, (peer_r - cash) / peer_v
        print(f"R{level}    | {ours.expected_return:6.2%} {ours.volatility:6.2%} {ours_sharpe:6.2f} |  "
              f"{peer_r:6.2%} {peer_v:6.2%} {peer_sharpe:6.2f} | {ours_sharpe / peer_sharpe:5.2f}×   | "
              f"{same_risk.expected_return:6.2%} vs {peer_r:6.2%} "
              f"(+{(same_risk.expected_return - peer_r) * 1e4:.0f} bp)"
              f"{'' if ours.volatility <= policy.max_volatility + 1e-6 else '  OVER BUDGET'}")

    ids = list(Customer.objects.filter(user__isnull=False).values_list("id", flat=True))
    chosen = rng.sample(ids, min(args.advice, len(ids)))
    for customer in Customer.objects.filter(id__in=chosen):
        answers = {q.key: rng.choice(q.options).value for q in questionnaire.QUESTIONS}
        services.assess_risk(customer=customer, answers=answers, channel="api")

    advice_ms, recommend_ms, unavailable = [], [], 0
    for customer in Customer.objects.filter(id__in=chosen).order_by("id"):
        started = time.perf_counter()
        try:
            services.advise_allocation(customer=customer, amount=Decimal(rng.choice([50_000, 200_000, 1_000_000])),
                                       channel="api")
        except services.AdviceUnavailable:
            unavailable += 1
            continue
        advice_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        try:
            recommend_products(customer=customer, k=10, channel="batch")
        except NoActiveRecommender:
            pass
        recommend_ms.append((time.perf_counter() - started) * 1000)
    print(f"\nadvice for {len(advice_ms)} customers ({unavailable} had no feasible allocation)")
    print(f"advise_allocation  p50 {percentile(advice_ms, 50):6.1f} ms  p95 {percentile(advice_ms, 95):6.1f} ms")
    print(f"recommend_products p50 {percentile(recommend_ms, 50):6.1f} ms  p95 {percentile(recommend_ms, 95):6.1f} ms"
          f"  (advice/recommend p50 ratio {percentile(advice_ms, 50) / percentile(recommend_ms, 50):.2f}×)")

    with connection.cursor() as cur:
        cur.execute("""
            SELECT count(*) FROM advisor_investmentadvice a
            JOIN advisor_riskassessment r ON r.id = a.assessment_id,
            jsonb_array_elements(a.products) p
            JOIN products_product pr ON pr.code = p->>'code'
            WHERE pr.risk_level > r.level""")
        violations = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM advisor_investmentadvice a, jsonb_array_elements(a.products) p")
        lines = cur.fetchone()[0]
    print(f"suitability: {violations} of {lines} advised product lines above the customer's assessed level")

    timings = []
    for level in range(1, 6):
        for _ in range(20):
            started = time.perf_counter()
            mean_variance(market, policy_for(level))
            timings.append((time.perf_counter() - started) * 1000)
    print(f"\noptimiser alone: mean {statistics.mean(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms")
    started = time.perf_counter()
    for seed in range(10):
        goals.project_goal(target_amount=1_000_000, months=240, current_savings=100_000, monthly_contribution=2000,
                           expected_return=0.05, volatility=0.12, paths=5000, seed=seed)
    print(f"goal projection, 5,000 paths × 240 months with the 80 % contribution search: "
          f"{(time.perf_counter() - started) * 100:.0f} ms each")

    # The review, one customer at a time (review_portfolio: what an assessment or a new allocation runs) against
    # groups of REVIEW_CHUNK (review_portfolios: the nightly parts), on the same customers in the same state: a
    # first untimed pass opens today's alerts, so both timed passes update them in place.
    from advisor.tasks import REVIEW_CHUNK

    review = list(services.customers_to_review().order_by("id")[:2000])
    ids = [c.pk for c in review]
    today = timezone.localdate()
    services.review_portfolios(ids, today=today)
    rates = {}
    for label, run in (
        ("one at a time", lambda: [services.review_portfolio(customer=c, today=today) for c in review]),
        (f"groups of {REVIEW_CHUNK}", lambda: [services.review_portfolios(ids[i : i + REVIEW_CHUNK], today=today)
                                              for i in range(0, len(ids), REVIEW_CHUNK)]),
    ):
        queries: list[int] = []  # counted, not logged: Django's query log keeps only the last 9,000
        with connection.execute_wrapper(lambda execute, *args, seen=queries: seen.append(1) or execute(*args)):
            started = time.perf_counter()
            run()
            elapsed = time.perf_counter() - started
        rates[label] = len(review) / elapsed
        print(f"portfolio review, {label}: {len(review)} customers in {elapsed:.1f} s = {rates[label]:.0f} "
              f"customers/s, {len(queries):,} queries ({len(queries) / len(review):.3f} a customer)")
    one, grouped = rates.values()
    print(f"portfolio review: groups / one at a time {grouped / one:.1f}x")


if __name__ == "__main__":
    main()
