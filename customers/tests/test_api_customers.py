import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from bank.roles import RELATIONSHIP_MANAGER, RISK_OFFICER
from customers.models import Account, PartnerConsent, ProfileSnapshot
from customers.partners import issue_partner_token
from customers.tests.factories import (
    AccountFactory,
    CreditCardFactory,
    CustomerFactory,
    HoldingFactory,
    PartnerConsentFactory,
    PartnerFactory,
    TransactionFactory,
    UserFactory,
)
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENDPOINTS = ["", "accounts/", "transactions/", "holdings/"]
NOT_FOUND = {"error": {"code": "not_found", "message": "No such customer.", "details": {}}}


def url(customer_or_id, endpoint: str = "") -> str:
    public_id = getattr(customer_or_id, "public_id", customer_or_id)
    return f"/api/v1/customers/{public_id}/{endpoint}"


@pytest.fixture
def li():
    """Customer A, with two open accounts and a closed one, three transactions, holdings and two snapshots."""
    customer = CustomerFactory(
        full_name="Li Na",
        phone="+8613800000001",
        national_id="110105199005170011",
        email="li.na@example.com",
        address="1 Nanjing Road",
        birth_date=date(1990, 5, 17),
        kyc_verified_at=datetime(2025, 3, 1, 10, tzinfo=SHANGHAI),
        customer_since=date(2020, 1, 15),
        risk_tolerance=3,
    )
    current = AccountFactory(
        customer=customer,
        number="6222000000001111",
        balance=Decimal("15000.00"),
        interest_rate=Decimal("0.250"),
        opened_on=date(2020, 1, 15),
    )
    card = CreditCardFactory(customer=customer, number="6222000000002222", opened_on=date(2021, 6, 1))
    AccountFactory(customer=customer, number="6222000000003333", status=Account.Status.CLOSED)
    deposit = ProductFactory(
        code="DEP-12M", name_en="12-month deposit", name_zh="12个月定期存款", type="deposit"
    )
    HoldingFactory(
        customer=customer,
        product=deposit,
        account=current,
        amount=Decimal("50000.00"),
        opened_on=date(2026, 1, 10),
        maturity_date=date(2027, 1, 10),
    )
    HoldingFactory(customer=customer, product=ProductFactory(code="OLD-FUND"), status="closed")
    TransactionFactory(
        account=current,
        amount=Decimal("-128.50"),
        timestamp=datetime(2026, 10, 3, 12, 30, tzinfo=SHANGHAI),
        merchant="FreshMart",
        category="groceries",
        channel="pos",
        counterparty="FreshMart Ltd",
    )
    TransactionFactory(
        account=card,
        amount=Decimal("-88.00"),
        timestamp=datetime(2026, 10, 5, 19, 0, tzinfo=SHANGHAI),
        merchant="Noodle Bar",
        category="dining",
        channel="pos",
        counterparty="Noodle Bar",
    )
    # 07:30 in Shanghai is still 30 September in UTC: the day filters must use the bank's local day.
    TransactionFactory(
        account=current,
        amount=Decimal("20000.00"),
        timestamp=datetime(2026, 10, 1, 7, 30, tzinfo=SHANGHAI),
        merchant="",
        category="salary",
        channel="online",
        counterparty="Acme Corp",
        description="October salary",
    )
    ProfileSnapshot.objects.create(customer=customer, as_of=date(2026, 9, 1), summary_en="older")
    ProfileSnapshot.objects.create(
        customer=customer,
        as_of=date(2026, 10, 1),
        window_days=180,
        income_estimate_monthly=Decimal("21000.00"),
        spend_monthly=Decimal("6400.50"),
        spend_mix={"groceries": 0.5, "dining": 0.3, "travel": 0.2},
        transactions_per_month=42.5,
        balance_total=Decimal("62700.00"),
        balance_trend=0.12,
        product_types_held=["credit_card", "current", "deposit"],
        summary_en="Salaried engineer who saves steadily.",
        summary_zh="稳定储蓄的受薪工程师。",
    )
    return customer


@pytest.fixture
def wang():
    """Customer B: everything here must stay invisible to Li and to partners Wang did not consent to."""
    customer = CustomerFactory(
        full_name="Wang Fang",
        phone="+8613912345678",
        national_id="310101198001019876",
        external_ref="C77770001",
    )
    account = AccountFactory(customer=customer, number="6222999988887777", balance=Decimal("987654.32"))
    TransactionFactory(
        account=account, merchant="SecretShop", counterparty="Secret Counterparty", amount=Decimal("-4321.09")
    )
    HoldingFactory(customer=customer, product=ProductFactory(code="FUND-WANG", name_en="Wang's fund"))
    ProfileSnapshot.objects.create(
        customer=customer, as_of=date(2026, 10, 1), summary_en="Wang's private summary"
    )
    return customer


def wang_secrets(wang) -> list[str]:
    account = wang.accounts.get()
    return [
        "Wang Fang",
        str(wang.public_id),
        wang.external_ref,
        wang.national_id,
        "+8613912345678",
        "5678",
        account.number,
        str(account.public_id),
        "7777",
        "987654.32",
        "SecretShop",
        "Secret Counterparty",
        "4321.09",
        "FUND-WANG",
        "Wang's private summary",
    ]


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def partner_client(*scopes: str, partner=None) -> tuple[APIClient, object]:
    partner = partner or PartnerFactory()
    _, secret = issue_partner_token(partner=partner, name="test", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, partner


def expected_profile(customer) -> dict:
    today = timezone.localdate()
    snapshot = ProfileSnapshot.objects.get(customer=customer, as_of=date(2026, 10, 1))
    return {
        "id": str(customer.public_id),
        "full_name": "Li Na",
        "gender": "F",
        "age": today.year - 1990 - ((today.month, today.day) < (5, 17)),
        "phone_masked": "+86*******0001",
        "city": "Shanghai",
        "residency": "CN",
        "occupation": "Engineer",
        "life_stage": "young_professional",
        "preferred_language": "zh-hans",
        "customer_since": "2020-01-15",
        "kyc_status": "verified",
        "kyc_verified_at": "2025-03-01T10:00:00+08:00",
        "risk_tolerance": 3,
        "risk_assessed_at": None,
        "latest_profile": {
            "as_of": "2026-10-01",
            "window_days": 180,
            "income_estimate_monthly": "21000.00",
            "spend_monthly": "6400.50",
            "spend_mix": {"groceries": 0.5, "dining": 0.3, "travel": 0.2},
            "transactions_per_month": 42.5,
            "balance_total": "62700.00",
            "balance_trend": 0.12,
            "product_types_held": ["credit_card", "current", "deposit"],
            "summary_en": "Salaried engineer who saves steadily.",
            "summary_zh": "稳定储蓄的受薪工程师。",
            "computed_at": timezone.localtime(snapshot.computed_at).isoformat(),
        },
    }


# --- a customer reads themself ------------------------------------------------------------------


def test_me_is_the_logged_in_customers_profile_without_pii(li):
    response = logged_in(li.user).get("/api/v1/customers/me/")

    assert response.status_code == 200
    assert response.json() == expected_profile(li)
    body = response.content.decode()
    for secret in (
        "110105199005170011",
        "+8613800000001",
        "li.na@example.com",
        "1 Nanjing Road",
        "1990-05-17",
    ):
        assert secret not in body


def test_profile_by_id_is_the_same_as_me(li):
    response = logged_in(li.user).get(url(li))
    assert response.status_code == 200
    assert response.json() == expected_profile(li)


def test_profile_without_any_snapshot_has_null_latest_profile():
    customer = CustomerFactory()
    response = logged_in(customer.user).get(url(customer))
    assert response.json()["latest_profile"] is None


def test_me_for_a_user_without_a_customer_record_is_404():
    response = logged_in(UserFactory(is_staff=True)).get("/api/v1/customers/me/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No customer record belongs to this user.", "details": {}}
    }


def test_accounts_are_the_open_ones_with_masked_numbers(li):
    current = li.accounts.get(number="6222000000001111")
    card = li.accounts.get(number="6222000000002222")

    response = logged_in(li.user).get(url(li, "accounts/"))

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": str(card.public_id),
            "number_masked": "•••• 2222",
            "type": "credit_card",
            "currency": "CNY",
            "balance": "2300.00",
            "credit_limit": "50000.00",
            "interest_rate": None,
            "status": "active",
            "opened_on": "2021-06-01",
            "product_code": None,
        },
        {
            "id": str(current.public_id),
            "number_masked": "•••• 1111",
            "type": "current",
            "currency": "CNY",
            "balance": "15000.00",
            "credit_limit": None,
            "interest_rate": "0.250",
            "status": "active",
            "opened_on": "2020-01-15",
            "product_code": None,
        },
    ]
    assert "6222000000001111" not in response.content.decode()


def test_transactions_newest_first_paginated(li):
    current = li.accounts.get(number="6222000000001111")
    card = li.accounts.get(number="6222000000002222")

    response = logged_in(li.user).get(url(li, "transactions/"))

    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {
                "account": str(card.public_id),
                "timestamp": "2026-10-05T19:00:00+08:00",
                "amount": "-88.00",
                "currency": "CNY",
                "category": "dining",
                "channel": "pos",
                "merchant": "Noodle Bar",
                "counterparty": "Noodle Bar",
                "description": "",
            },
            {
                "account": str(current.public_id),
                "timestamp": "2026-10-03T12:30:00+08:00",
                "amount": "-128.50",
                "currency": "CNY",
                "category": "groceries",
                "channel": "pos",
                "merchant": "FreshMart",
                "counterparty": "FreshMart Ltd",
                "description": "",
            },
            {
                "account": str(current.public_id),
                "timestamp": "2026-10-01T07:30:00+08:00",
                "amount": "20000.00",
                "currency": "CNY",
                "category": "salary",
                "channel": "online",
                "merchant": "",
                "counterparty": "Acme Corp",
                "description": "October salary",
            },
        ],
    }


@pytest.mark.parametrize(
    ("query", "amounts"),
    [
        ("category=dining", ["-88.00"]),
        ("since=2026-10-01", ["-88.00", "-128.50", "20000.00"]),
        ("since=2026-10-02", ["-88.00", "-128.50"]),
        ("until=2026-09-30", []),
        ("until=2026-10-03", ["-128.50", "20000.00"]),
        ("since=2026-10-03&until=2026-10-03", ["-128.50"]),
        ("page_size=1&page=2", ["-128.50"]),
    ],
)
def test_transaction_filters(li, query, amounts):
    response = logged_in(li.user).get(f"{url(li, 'transactions/')}?{query}")
    assert response.status_code == 200
    assert [row["amount"] for row in response.json()["results"]] == amounts


def test_transactions_of_one_account(li):
    current = li.accounts.get(number="6222000000001111")
    response = logged_in(li.user).get(
        f"{url(li, 'transactions/')}?account={current.public_id}&category=groceries"
    )
    assert [row["amount"] for row in response.json()["results"]] == ["-128.50"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("account=not-a-uuid", "account"),
        (f"account={uuid.UUID(int=7)}", "account"),
        ("category=food", "category"),
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("since=2026-10-05&until=2026-10-01", "until"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
    ],
)
def test_bad_transaction_parameters_are_400_naming_the_parameter(li, query, parameter):
    response = logged_in(li.user).get(f"{url(li, 'transactions/')}?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert list(error["details"]) == [parameter]
    assert error["message"].startswith(f"{parameter}: ")


def test_another_customers_account_is_as_unknown_as_a_made_up_one(li, wang):
    wang_account = wang.accounts.get()

    response = logged_in(li.user).get(f"{url(li, 'transactions/')}?account={wang_account.public_id}")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"account": ["Not an account of this customer."]}
    for secret in ["SecretShop", "987654.32", "7777"]:
        assert secret not in response.content.decode()


def test_holdings_are_the_active_ones(li):
    current = li.accounts.get(number="6222000000001111")

    response = logged_in(li.user).get(url(li, "holdings/"))

    assert response.status_code == 200
    assert response.json() == [
        {
            "product_code": "DEP-12M",
            "product_type": "deposit",
            "product_name_en": "12-month deposit",
            "product_name_zh": "12个月定期存款",
            "amount": "50000.00",
            "opened_on": "2026-01-10",
            "maturity_date": "2027-01-10",
            "status": "active",
            "account": str(current.public_id),
        }
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_queries_do_not_grow_with_the_rows(li, endpoint, django_assert_num_queries):
    client = logged_in(li.user)
    client.get(url(li, endpoint))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url(li, endpoint))
    current = li.accounts.get(number="6222000000001111")
    for day in range(1, 6):
        AccountFactory(customer=li)
        TransactionFactory(account=current, timestamp=datetime(2026, 9, day, 9, tzinfo=SHANGHAI))
        HoldingFactory(customer=li, account=current, product=ProductFactory())

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url(li, endpoint))
    assert response.status_code == 200


# --- broken object-level authorization: another customer's id -----------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_customer_asking_for_another_customers_id_gets_404_and_none_of_their_data(li, wang, endpoint):
    response = logged_in(li.user).get(url(wang, endpoint))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    body = response.content.decode()
    for secret in wang_secrets(wang):
        assert secret not in body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("public_id", [uuid.UUID(int=1), "not-a-uuid", "1"])
def test_unknown_and_malformed_ids_are_404_in_the_error_shape(li, endpoint, public_id):
    response = logged_in(li.user).get(url(public_id, endpoint))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("endpoint", [*ENDPOINTS, "me/"])
def test_anonymous_gets_401(li, endpoint):
    target = "/api/v1/customers/me/" if endpoint == "me/" else url(li, endpoint)

    response = APIClient().get(target)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "Li Na" not in response.content.decode()


# --- partners ---------------------------------------------------------------------------------------

ALL_READ = ("profile:read", "accounts:read", "transactions:read")


def test_partner_with_consent_and_scopes_reads_everything(li):
    client, partner = partner_client(*ALL_READ)
    PartnerConsentFactory(customer=li, partner=partner)

    profile = client.get(url(li))
    accounts = client.get(url(li, "accounts/"))
    transactions = client.get(url(li, "transactions/"))
    holdings = client.get(url(li, "holdings/"))

    assert profile.status_code == 200
    assert profile.json() == expected_profile(li)
    assert [row["number_masked"] for row in accounts.json()] == ["•••• 2222", "•••• 1111"]
    assert transactions.json()["count"] == 3
    assert [row["product_code"] for row in holdings.json()] == ["DEP-12M"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_partner_without_consent_gets_404_and_none_of_the_data(li, wang, endpoint):
    client, partner = partner_client(*ALL_READ)
    PartnerConsentFactory(customer=li, partner=partner)
    # Consent given to another partner does not count.
    PartnerConsentFactory(customer=wang, partner=PartnerFactory())

    response = client.get(url(wang, endpoint))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    for secret in wang_secrets(wang):
        assert secret not in response.content.decode()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_partner_whose_consent_was_revoked_gets_404(li, endpoint):
    client, partner = partner_client(*ALL_READ)
    PartnerConsentFactory(customer=li, partner=partner, revoked_at=timezone.now())

    response = client.get(url(li, endpoint))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("endpoint", "missing"),
    [("accounts/", "accounts:read"), ("transactions/", "transactions:read"), ("holdings/", "accounts:read")],
)
def test_partner_with_consent_but_without_the_scope_gets_403(li, endpoint, missing):
    client, partner = partner_client("profile:read")
    PartnerConsentFactory(customer=li, partner=partner)

    response = client.get(url(li, endpoint))
    # The scope is checked before the customer: an unknown id gets the same 403, so it reveals nothing.
    unknown = client.get(url(uuid.UUID(int=3), endpoint))

    expected = {
        "error": {
            "code": "insufficient_scope",
            "message": f"This API token lacks the scope(s): {missing}.",
            "details": {},
        }
    }
    assert response.status_code == 403
    assert response.json() == expected
    assert unknown.status_code == 403
    assert unknown.json() == expected
    assert client.get(url(li)).status_code == 200


def test_partner_without_profile_read_cannot_read_the_profile(li):
    client, partner = partner_client("accounts:read")
    PartnerConsentFactory(customer=li, partner=partner)

    response = client.get(url(li))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert "Li Na" not in response.content.decode()


def test_partner_has_no_me(li):
    client, partner = partner_client(*ALL_READ)
    PartnerConsentFactory(customer=li, partner=partner)

    response = client.get("/api/v1/customers/me/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_portal_user"


def test_consent_rows_are_untouched_by_reads(li):
    client, partner = partner_client(*ALL_READ)
    consent = PartnerConsentFactory(customer=li, partner=partner)
    before = PartnerConsent.objects.filter(pk=consent.pk).values().get()

    for endpoint in ENDPOINTS:
        client.get(url(li, endpoint))

    assert PartnerConsent.objects.filter(pk=consent.pk).values().get() == before


# --- staff ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_superuser_sees_any_customer(li, wang, endpoint):
    client = logged_in(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(url(li, endpoint)).status_code == 200
    assert client.get(url(wang, endpoint)).status_code == 200


def test_superuser_reads_the_other_customers_exact_profile(wang):
    client = logged_in(UserFactory(is_staff=True, is_superuser=True))
    body = client.get(url(wang)).json()
    assert (body["full_name"], body["phone_masked"], body["latest_profile"]["summary_en"]) == (
        "Wang Fang",
        "+86*******5678",
        "Wang's private summary",
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_relationship_manager_sees_only_their_book(li, wang, endpoint):
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name=RELATIONSHIP_MANAGER))
    li.relationship_manager = manager
    li.save(update_fields=["relationship_manager"])
    client = logged_in(manager)

    mine = client.get(url(li, endpoint))
    not_mine = client.get(url(wang, endpoint))

    assert mine.status_code == 200
    assert not_mine.status_code == 404
    assert not_mine.json() == NOT_FOUND
    for secret in wang_secrets(wang):
        assert secret not in not_mine.content.decode()


def test_other_staff_roles_see_every_customer_and_staff_without_a_role_none(li):
    officer = UserFactory(is_staff=True)
    officer.groups.add(Group.objects.get(name=RISK_OFFICER))

    assert logged_in(officer).get(url(li)).status_code == 200
    # Staff without a role may not view customers at all (bank.api.permissions.HasScope): refused before any id
    # is looked up, so the 403 says nothing about whether this customer exists.
    refused = logged_in(UserFactory(is_staff=True)).get(url(li))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "staff_role_not_allowed"
