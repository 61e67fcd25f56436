from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from customers.tests.factories import AccountFactory, CreditCardFactory, CustomerFactory, TransactionFactory
from risk.models import Alert, MonitoringRule, Severity


def history(*, customer=None, account=None, days: int = 40, amount: str = "-100.00", hour: int = 12):
    """A steady history: one grocery card payment a day at `hour`, to the same shop, for `days` days."""
    account = account or AccountFactory(customer=customer or CustomerFactory())
    now = timezone.now()
    for day in range(days, 0, -1):
        moment = (now - timedelta(days=day)).astimezone(timezone.get_current_timezone()).replace(
            hour=hour, minute=0, second=0, microsecond=0)
        TransactionFactory(account=account, customer=account.customer, amount=Decimal(amount), timestamp=moment,
                           category="groceries", channel="pos", counterparty="FreshMart Ltd", merchant="FreshMart")
    return account


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    customer = factory.SubFactory(CustomerFactory)
    severity = Severity.MEDIUM
    decision = "review"
    rule_codes = ["amount-far-above-history"]
    reasons = factory.LazyAttribute(lambda a: [{"code": c, "en": f"{c} fired", "zh": f"{c} 触发", "evidence": {}}
                                               for c in a.rule_codes])


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonitoringRule
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"rule-{n}")
    name = "A rule"
    kind = "velocity"
    params = {}


__all__ = ["AlertFactory", "CreditCardFactory", "RuleFactory", "history"]
