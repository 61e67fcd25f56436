"""`python manage.py audit_recommendations [--since ISO-DATETIME] [--batch N]`: check stored recommendations
against the suitability rules with an independent SQL audit; exits 1 if any item breaks a rule.

`--batch N` first makes a fresh batch set for N customers who consented to profiling (through the one
recommendation service, gate included) and audits just those: the demo bank's "suitability violations"
figure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from advisor.audit import audit_recommendations
from advisor.models import Channel
from advisor.services import NoActiveRecommender, recommend_products
from customers.models import Customer


class Command(BaseCommand):
    help = "Audit stored recommendations against the suitability and eligibility rules (independent SQL check)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Only sets made at or after this time (ISO 8601).")
        parser.add_argument("--batch", type=int, default=0, help="First recommend to this many customers.")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        since: datetime | None = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None:
                raise CommandError(f"--since: not an ISO 8601 date-time: {options['since']!r}")
            if timezone.is_naive(since):
                since = timezone.make_aware(since)
        if options["batch"] > 0:
            since = timezone.now()
            customers = Customer.objects.filter(consent_profiling=True).order_by("id")[: options["batch"]]
            try:
                for customer in tqdm(customers, total=len(customers), desc="Recommending", disable=options["quiet"]):
                    recommend_products(customer=customer, k=options["k"], channel=Channel.BATCH)
            except NoActiveRecommender as exc:
                raise CommandError("no active recommender: run `manage.py train_recommender`") from exc
        report = audit_recommendations(since=since)
        self.stdout.write(f"{report.items_checked:,} recommended items checked; "
                          f"{len(report.violations):,} break a suitability rule")
        for rule, count in report.by_rule.most_common():
            self.stdout.write(f"  {rule:<24}{count:>8,}")
        for violation in report.violations[:20]:
            self.stdout.write(f"  recommendation #{violation.recommendation_id}: customer #{violation.customer_id}, "
                              f"product #{violation.product_id}: {', '.join(violation.rules)}")
        if report.violations:
            raise SystemExit(1)
