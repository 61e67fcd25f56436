"""Products, customers and credit scores for the application tests (no demo bank: each test builds its few rows)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bank.models import ModelVersion
from customers.models import Account, AccountType, ProfileSnapshot
from customers.tests.factories import AccountFactory, CustomerFactory
from products.models import Liquidity, ProductType
from products.tests.factories import ProductFactory
from risk.models import CreditPolicy, CreditScore


def card_product(**changes):
    fields = dict(
        code="CC-CLASSIC-T", type=ProductType.CREDIT_CARD, name_en="Classic Credit Card", name_zh="经典信用卡",
        risk_level=2, expected_return_min=Decimal("18.250"), expected_return_max=Decimal("18.250"), term_months=None,
        min_amount=Decimal("0"), liquidity=Liquidity.NOT_APPLICABLE, annual_fee=Decimal("100"),
        min_annual_income=Decimal("36000"), allows_multiple=False, tags=["card", "everyday"],
    )
    return ProductFactory(**{**fields, **changes})


def travel_card():
    return card_product(code="CC-TRAVEL-T", name_en="World Traveller Credit Card", name_zh="环球旅行信用卡",
                        annual_fee=Decimal("600"), min_annual_income=Decimal("80000"),
                        tags=["card", "travel", "no-fx-fee", "points", "lounge"])


def loan_product(**changes):
    fields = dict(
        code="LN-PERSONAL-T", type=ProductType.LOAN, name_en="Instant e-Loan", name_zh="快e贷", risk_level=2,
        expected_return_min=Decimal("3.450"), expected_return_max=Decimal("8.500"), term_months=12,
        min_amount=Decimal("1000"), liquidity=Liquidity.NOT_APPLICABLE, min_annual_income=Decimal("60000"),
        allows_multiple=False, tags=["loan", "personal"], residency=["CN"],
    )
    return ProductFactory(**{**fields, **changes})


def applicant(*, income="240000", kyc_days_ago=200, balance="50000", **changes):
    customer = CustomerFactory(declared_annual_income=Decimal(income),
                               kyc_verified_at=timezone.now() - timedelta(days=kyc_days_ago), **changes)
    AccountFactory(customer=customer, type=AccountType.CURRENT, balance=Decimal(balance))
    return customer


def profile(customer, *, income_monthly="20000", spend_monthly="6000"):
    return ProfileSnapshot.objects.create(customer=customer, as_of=timezone.localdate(),
                                          income_estimate_monthly=Decimal(income_monthly),
                                          spend_monthly=Decimal(spend_monthly))


def credit_model():
    version, _ = ModelVersion.objects.get_or_create(name="risk.credit", version=1,
                                                    defaults={"status": ModelVersion.Status.ACTIVE})
    return version


def credit_score(customer, *, pd: float, points: int = 600, reasons_en=(), reasons_zh=()):
    CreditPolicy.objects.get_or_create(pk=1, defaults={"approve_below": 0.06, "decline_from": 0.25})
    return CreditScore.objects.create(
        customer=customer, model_version=credit_model(), serving_model="gbm", pd=pd, pd_gbm=pd, pd_scorecard=pd,
        points=points, decision="approve", reason_codes=[], reasons_en=list(reasons_en), reasons_zh=list(reasons_zh),
        features={}, as_of=timezone.localdate(),
    )


def existing_loan(customer, *, balance: str, rate: str = "5.000"):
    return Account.objects.create(customer=customer, number=f"88010{customer.pk:011d}", type=AccountType.LOAN,
                                  balance=Decimal(balance), interest_rate=Decimal(rate),
                                  opened_on=timezone.localdate())
