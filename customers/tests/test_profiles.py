from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from bank.embeddings import TEXT_MODEL_NAME, embed_documents
from customers.models import Account, AccountType, ProfileSnapshot
from customers.profiles import (
    AccountRecord,
    HoldingRecord,
    TransactionRecord,
    aggregate_flows,
    build_profile,
    feature_names,
    month_of,
    window_end,
)
from customers.services import _monthly_flows, compute_profiles
from customers.tasks import compute_profiles_task
from customers.tests.factories import (
    AccountFactory,
    CreditCardFactory,
    CustomerFactory,
    HoldingFactory,
    TransactionFactory,
)
from products.tests.factories import ProductFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 10, 31)
END = datetime(2026, 11, 1, tzinfo=SHANGHAI)

# (timestamp, amount, category, currency): three salaries of 20,000.00, a bonus, known spends, and money
# moved that is not spending.
HISTORY = [
    (datetime(2026, 10, 25, 9, 0, tzinfo=SHANGHAI), "20000.00", "salary", "CNY"),
    (datetime(2026, 9, 25, 9, 0, tzinfo=SHANGHAI), "20000.00", "salary", "CNY"),
    (datetime(2026, 9, 26, 9, 0, tzinfo=SHANGHAI), "30000.00", "income_other", "CNY"),  # bonus
    (datetime(2026, 8, 26, 9, 0, tzinfo=SHANGHAI), "20000.00", "salary", "CNY"),
    (datetime(2026, 10, 20, 20, 0, tzinfo=SHANGHAI), "-3000.00", "travel", "CNY"),
    (datetime(2026, 9, 20, 20, 0, tzinfo=SHANGHAI), "-1500.00", "dining", "CNY"),
    (datetime(2026, 8, 28, 20, 0, tzinfo=SHANGHAI), "-500.00", "groceries", "CNY"),
    (datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI), "-10000.00", "transfer", "CNY"),
    (datetime(2026, 10, 3, 10, 0, tzinfo=SHANGHAI), "-2000.00", "investment", "CNY"),
    (datetime(2026, 10, 4, 10, 0, tzinfo=SHANGHAI), "-100.00", "shopping", "USD"),
    (datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI), "-9999.00", "travel", "CNY"),  # before the window
]
ACCOUNTS = [
    AccountRecord(type="current", balance=Decimal("15000.00")),
    AccountRecord(type="savings", balance=Decimal("40000.00")),
    AccountRecord(type="credit_card", balance=Decimal("2300.00"), credit_limit=Decimal("50000.00")),
    AccountRecord(type="current", balance=Decimal("999.00"), status="closed"),
]
HOLDINGS = [
    HoldingRecord(product_type="fund", amount=Decimal("10000.00")),
    HoldingRecord(product_type="fund", amount=Decimal("5000.00")),
    HoldingRecord(product_type="deposit", amount=Decimal("50000.00")),
    HoldingRecord(product_type="credit_card", amount=Decimal("50000.00")),
]
SUMMARY_EN = (
    "Spends mostly on travel (60%) and dining (30%); income about ¥20,000 a month; saves 92% of income; "
    "holds a current account, a savings account, a credit card, a term deposit and 2 funds."
)
SUMMARY_ZH = (
    "主要消费在旅行（60%）和餐饮（30%）；月收入约¥20,000；储蓄约占收入的92%；"
    "持有一个活期账户、一个储蓄账户、一张信用卡、一笔定期存款和2只基金。"
)


def _records():
    return [
        TransactionRecord(timestamp=ts, amount=Decimal(a), category=c, currency=cur)
        for ts, a, c, cur in HISTORY
    ]


def test_profile_features_are_exact_on_a_hand_built_history():
    profile = build_profile(flows=aggregate_flows(_records(), end=END), accounts=ACCOUNTS, holdings=HOLDINGS)

    assert profile.months_observed == 3
    # Monthly income 20,000 / 50,000 (bonus) / 20,000: the median ignores the bonus.
    assert profile.income_estimate_monthly == Decimal("20000.00")
    assert profile.spend_monthly == Decimal("1666.67")
    assert profile.spend_mix == {"travel": 0.6, "dining": 0.3, "groceries": 0.1}
    assert list(profile.spend_mix) == ["travel", "dining", "groceries"]
    assert profile.transactions_per_month == 3.33
    assert profile.balance_total == Decimal("52700.00")
    assert profile.balance_trend == 0.9167
    assert profile.product_types_held == ["deposit", "fund", "credit_card"]
    assert profile.features["credit_utilisation"] == 0.046
    assert profile.features["debt_total"] == 2300.0
    assert profile.features["income_months_share"] == 1.0
    assert profile.features["spend_share_travel"] == 0.6
    assert profile.features["spend_share_shopping"] == 0.0
    assert profile.features["holds_fund"] == 1.0 and profile.features["holds_insurance"] == 0.0
    assert list(profile.features) == feature_names()
    assert all(isinstance(value, float) for value in profile.features.values())


def test_summaries_name_top_categories_income_savings_and_holdings_in_both_languages():
    profile = build_profile(flows=aggregate_flows(_records(), end=END), accounts=ACCOUNTS, holdings=HOLDINGS)

    assert profile.summary_en == SUMMARY_EN
    assert profile.summary_zh == SUMMARY_ZH


def test_empty_history_gives_zeros_and_says_so():
    profile = build_profile(flows=[], accounts=[], holdings=[])

    assert profile.income_estimate_monthly == Decimal("0.00")
    assert profile.spend_mix == {}
    assert profile.balance_trend == 0.0
    assert profile.summary_en == (
        "No spending in the last 180 days; no regular income seen; holds no products with us."
    )
    assert profile.summary_zh == "近180天没有消费；未见稳定收入；未持有本行产品。"


def test_overspending_is_described_as_such():
    flows = aggregate_flows(
        [
            TransactionRecord(
                timestamp=datetime(2026, 10, 25, tzinfo=SHANGHAI),
                amount=Decimal("10000.00"),
                category="salary",
            ),
            TransactionRecord(
                timestamp=datetime(2026, 10, 26, tzinfo=SHANGHAI),
                amount=Decimal("-12000.00"),
                category="shopping",
            ),
        ],
        end=END,
    )

    profile = build_profile(flows=flows, accounts=[], holdings=[])

    assert profile.balance_trend == -0.2
    assert "spends 20% more than income" in profile.summary_en
    assert "支出超过收入20%" in profile.summary_zh


def test_window_months_are_counted_back_from_the_end_of_as_of():
    assert window_end(as_of=AS_OF, tz=SHANGHAI) == END
    assert month_of(timestamp=datetime(2026, 10, 31, 23, 59, tzinfo=SHANGHAI), end=END, window_days=180) == 0
    assert month_of(timestamp=datetime(2026, 5, 5, tzinfo=SHANGHAI), end=END, window_days=180) == 5
    assert month_of(timestamp=datetime(2026, 5, 4, 23, 59, tzinfo=SHANGHAI), end=END, window_days=180) is None
    assert month_of(timestamp=END, end=END, window_days=180) is None
    with pytest.raises(ValueError):
        build_profile(flows=[], accounts=[], holdings=[], window_days=100)


def _customer_with_history(**customer_fields):
    customer = CustomerFactory(**customer_fields)
    current = AccountFactory(customer=customer, type=AccountType.CURRENT, balance=Decimal("15000.00"))
    AccountFactory(customer=customer, type=AccountType.SAVINGS, balance=Decimal("40000.00"))
    CreditCardFactory(customer=customer, balance=Decimal("2300.00"), credit_limit=Decimal("50000.00"))
    AccountFactory(
        customer=customer, type=AccountType.CURRENT, balance=Decimal("999.00"), status=Account.Status.CLOSED
    )
    for ts, amount, category, currency in HISTORY:
        TransactionFactory(
            account=current, timestamp=ts, amount=Decimal(amount), category=category, currency=currency
        )
    fund = ProductFactory(type="fund", risk_level=3)
    HoldingFactory(customer=customer, product=fund, amount=Decimal("10000.00"))
    HoldingFactory(
        customer=customer, product=ProductFactory(type="fund", risk_level=3), amount=Decimal("5000.00")
    )
    HoldingFactory(customer=customer, product=ProductFactory(type="deposit"), amount=Decimal("50000.00"))
    HoldingFactory(customer=customer, product=ProductFactory(type="credit_card"), amount=Decimal("50000.00"))
    return customer


@pytest.mark.django_db
def test_sql_grouping_equals_the_pure_one():
    customer = _customer_with_history()

    flows = _monthly_flows(customer_ids=[customer.pk], end=END, window_days=180)

    assert flows[customer.pk] == aggregate_flows(_records(), end=END)


@pytest.mark.django_db
@pytest.mark.model
def test_compute_profiles_writes_snapshot_with_summary_embedding_and_upserts():
    customer = _customer_with_history()
    CustomerFactory(consent_profiling=False)

    assert compute_profiles(as_of=AS_OF) == 1

    snapshot = ProfileSnapshot.objects.get(customer=customer)
    assert snapshot.as_of == AS_OF
    assert snapshot.window_days == 180
    assert snapshot.income_estimate_monthly == Decimal("20000.00")
    assert snapshot.spend_monthly == Decimal("1666.67")
    assert snapshot.spend_mix == {"travel": 0.6, "dining": 0.3, "groceries": 0.1}
    assert snapshot.transactions_per_month == 3.33
    assert snapshot.balance_total == Decimal("52700.00")
    assert snapshot.balance_trend == 0.9167
    assert snapshot.product_types_held == ["deposit", "fund", "credit_card"]
    # jsonb does not keep key order: models read the vector through feature_names().
    assert sorted(snapshot.features) == sorted(feature_names())
    assert snapshot.features["spend_monthly"] == 1666.67
    assert snapshot.summary_en == SUMMARY_EN
    assert snapshot.summary_zh == SUMMARY_ZH
    vector = np.asarray(snapshot.embedding)
    assert vector.shape == (384,)
    assert np.allclose(vector, embed_documents([SUMMARY_EN])[0], atol=1e-5)
    assert snapshot.embedding_model.name == TEXT_MODEL_NAME

    # Recomputing the same day replaces the row.
    TransactionFactory(
        account=customer.accounts.get(type="savings"),
        amount=Decimal("-5000.00"),
        category="travel",
        timestamp=datetime(2026, 10, 30, tzinfo=SHANGHAI),
    )
    assert compute_profiles(customer_ids=[customer.pk], as_of=AS_OF) == 1
    assert compute_profiles(customer_ids=[customer.pk], as_of=AS_OF) == 1
    assert ProfileSnapshot.objects.filter(customer=customer, as_of=AS_OF).count() == 1
    assert ProfileSnapshot.objects.get(customer=customer, as_of=AS_OF).spend_mix == {
        "travel": 0.8,
        "dining": 0.15,
        "groceries": 0.05,
    }


@pytest.mark.django_db
@pytest.mark.model
def test_profiles_task_writes_todays_snapshot_for_the_given_customers_only():
    customer, other = CustomerFactory(), CustomerFactory()

    assert compute_profiles_task([customer.pk]) == 1

    snapshot = ProfileSnapshot.objects.get(customer=customer)
    assert snapshot.as_of == timezone.localdate()
    assert (
        snapshot.summary_en
        == "No spending in the last 180 days; no regular income seen; holds no products with us."
    )
    assert not ProfileSnapshot.objects.filter(customer=other).exists()


@pytest.mark.django_db
@pytest.mark.model
def test_every_consenting_customer_is_profiled_by_a_job_of_parts(monkeypatch, settings,
                                                                 django_capture_on_commit_callbacks):
    from django.utils.module_loading import import_string

    from bank.models import Job

    settings.NIGHTLY_PART_SIZE = 2
    consenting = [CustomerFactory() for _ in range(5)]
    refused = CustomerFactory(consent_profiling=False)
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        assert compute_profiles_task() == 5
    part_task = "customers.tasks.compute_profiles_part_task"
    assert [(func, kw["size"], "cluster" in kw) for func, kw in queued] == [
        (part_task, 2, False), (part_task, 2, False), (part_task, 1, False)]  # the default cluster, as scheduled

    for func, kwargs in queued:
        import_string(func)(**kwargs)

    job = Job.objects.get(kind="Recompute customer profiles")
    assert (job.state, job.done, job.result) == (Job.State.DONE, 5, {"parts": 3, "profiles": 5})
    assert sorted(ProfileSnapshot.objects.values_list("customer_id", flat=True)) == sorted(c.pk for c in consenting)
    assert not ProfileSnapshot.objects.filter(customer=refused).exists()
