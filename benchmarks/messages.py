"""Send throughput of personalised messages: a campaign launched to an audience of a few thousand customers.

    EMBEDDED_PG_DB=bank_msgbench .venv/bin/python benchmarks/messages.py [--customers 3000]

Builds a demo bank in its own database if it has none, then launches a fresh A/B campaign with a 10 % holdout and
a product-type offer (so every contacted customer goes through the suitability gate) to every customer, twice on
the same data (the messages of the first run are deleted before the second, and earlier benchmark messages before
both, so each starts from the same state):

- one at a time: `send_message` per customer, BATCH customers per transaction -- what a launch did before batches;
- batched: `launch_campaign`, the path the scheduled task takes: BATCH customers locked, read, decided and written
  together, emails after each commit (locmem backend here).

A re-run of the batched launch measures the idempotent re-run. Prints messages/s, queries per message and the
outcome counts of each, and the ratio.
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

    from django.db import connection, transaction

    from advisor.engagement.models import Campaign, CampaignVariant, Message
    from advisor.engagement.services import (
        BATCH,
        SCHEDULED_OCCURRENCE,
        Event,
        campaign_variants,
        launch_campaign,
        send_message,
    )

    Message.objects.filter(campaign__code__startswith="bench-").delete()  # the cap counts them: start afresh
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
    queries = [0]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries[0] += 1
        return execute(sql, params, many, context)

    def one_at_a_time() -> dict[str, int]:
        variants = campaign_variants(campaign)
        event = Event(occurrence=SCHEDULED_OCCURRENCE, detail={"audience": "matched"})
        ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
        counts: dict[str, int] = {}
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                for customer in Customer.objects.filter(id__in=ids[start:start + BATCH]).order_by("id"):
                    message, _ = send_message(campaign=campaign, customer=customer, event=event,
                                              rule={"audience": {}}, now=now, variants=variants)
                    counts[message.status] = counts.get(message.status, 0) + 1
        return counts

    rates = {}
    for name, run in (("one at a time", one_at_a_time),
                      ("batched launch", lambda: launch_campaign(campaign=campaign, now=now).by_status)):
        Message.objects.filter(campaign=campaign).delete()
        queries[0] = 0
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            by_status = run()
        seconds = time.perf_counter() - started
        rates[name] = audience / seconds
        print(f"{name}: {audience:,} customers in {seconds:.1f} s = {rates[name]:,.0f} messages/s, "
              f"{queries[0] / audience:.2f} queries/message -> {dict(sorted(by_status.items()))}")
    print(f"batched / one at a time: {rates['batched launch'] / rates['one at a time']:.1f}x")
    started = time.perf_counter()
    again = launch_campaign(campaign=campaign, now=now)
    seconds = time.perf_counter() - started
    print(f"re-run (idempotent): {again.audience:,} customers, {again.created} new, in {seconds:.1f} s = "
          f"{again.audience / seconds:,.0f} customers/s")


if __name__ == "__main__":
    main()
