"""Send throughput of personalised messages: a campaign launched to an audience of a few thousand customers.

    EMBEDDED_PG_DB=bank_msgbench .venv/bin/python benchmarks/messages.py [--customers 3000]

Builds a demo bank in its own database if it has none, then launches a fresh A/B campaign with a 10 % holdout and
a product-type offer (so every contacted customer goes through the suitability gate) to every customer, through
`launch_campaign` -- the path the scheduled task takes: one transaction per customer with the customer row locked,
consent, cap, product choice, rendering, the row, and the email (locmem backend here) after commit. A second run
of the same launch measures the idempotent re-run. Prints messages/s and the outcome counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_msgbench")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.models import Customer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=3000)
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        started = time.perf_counter()
        call_command("seed_demo", customers=args.customers, seed=11, months=2, quiet=True)
        print(f"seeded {Customer.objects.count():,} customers in {time.perf_counter() - started:.0f} s")

    from advisor.engagement.models import Campaign, CampaignVariant
    from advisor.engagement.services import launch_campaign

    now = timezone.now().replace(hour=4, minute=0)  # 12:00 in Shanghai: outside quiet hours
    campaign = Campaign.objects.create(code=f"bench-{int(time.time())}", name="Benchmark",
                                       status=Campaign.Status.ACTIVE, product_type="deposit", holdout_pct=10,
                                       variant_b_pct=50)
    for arm in "ab":
        CampaignVariant.objects.create(
            campaign=campaign, arm=arm, subject_en=f"[{arm}] Hello {{{{ first_name }}}}",
            body_en="You keep {{ balance }}. {{ product_name }} pays {{ product_rate }}.",
            subject_zh=f"[{arm}] {{{{ first_name }}}}您好",
            body_zh="您的余额{{ balance }}。{{ product_name }}年化{{ product_rate }}。")
    audience = Customer.objects.count()
    started = time.perf_counter()
    result = launch_campaign(campaign=campaign, now=now)
    seconds = time.perf_counter() - started
    print(f"launch: {result.audience:,} customers in {seconds:.1f} s = {result.audience / seconds:,.0f} messages/s "
          f"({audience:,} in the bank) -> {result.by_status}")
    started = time.perf_counter()
    again = launch_campaign(campaign=campaign, now=now)
    seconds = time.perf_counter() - started
    print(f"re-run (idempotent): {again.audience:,} customers, {again.created} new, in {seconds:.1f} s = "
          f"{again.audience / seconds:,.0f} customers/s")


if __name__ == "__main__":
    main()
