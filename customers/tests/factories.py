from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth import get_user_model

from customers.models import (
    Account,
    AccountType,
    Channel,
    Customer,
    Holding,
    KycStatus,
    LifeStage,
    Partner,
    PartnerConsent,
    ProductInteraction,
    SpendingCategory,
    Transaction,
)
from products.tests.factories import ProductFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_ref = factory.Sequence(lambda n: f"C{n:08d}")
    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"Customer {n}")
    birth_date = date(1990, 5, 17)
    gender = "F"
    national_id = factory.Sequence(lambda n: f"11010519900517{n:04d}")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    city = "Shanghai"
    residency = "CN"
    occupation = "Engineer"
    life_stage = LifeStage.YOUNG_PROFESSIONAL
    declared_annual_income = Decimal("240000.00")
    kyc_status = KycStatus.VERIFIED
    risk_tolerance = 3
    consent_marketing = True
    consent_profiling = True


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"6222{n:012d}")
    type = AccountType.CURRENT
    balance = Decimal("15000.00")


class CreditCardFactory(AccountFactory):
    type = AccountType.CREDIT_CARD
    balance = Decimal("2300.00")
    credit_limit = Decimal("50000.00")


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    account = factory.SubFactory(AccountFactory)
    customer = factory.SelfAttribute("account.customer")
    amount = Decimal("-128.50")
    timestamp = datetime(2026, 10, 3, 12, 30, tzinfo=SHANGHAI)
    merchant = "FreshMart"
    category = SpendingCategory.GROCERIES
    channel = Channel.POS
    counterparty = "FreshMart Ltd"


class HoldingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holding

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("50000.00")
    opened_on = date(2026, 1, 10)


class ProductInteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductInteraction

    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    event = "click"
    timestamp = datetime(2026, 10, 5, 9, 0, tzinfo=SHANGHAI)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")


class PartnerConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerConsent

    customer = factory.SubFactory(CustomerFactory)
    partner = factory.SubFactory(PartnerFactory)
