from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from customers.models import ProfileSnapshot, SpendingCategory
from customers.templatetags.portal import money, percent_of
from customers.tests.factories import (
    AccountFactory,
    CreditCardFactory,
    CustomerFactory,
    HoldingFactory,
    TransactionFactory,
    UserFactory,
)
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _in_chinese(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})


def test_money_formats_grouping_sign_and_symbol():
    assert money(Decimal("-1234.5"), "CNY") == "-¥1,234.50"
    assert money(Decimal("15000"), "USD") == "$15,000.00"
    assert money(Decimal("7.005"), "SGD") == "SGD 7.01"
    assert money(None) == ""
    assert percent_of(Decimal("2300.00"), Decimal("50000.00")) == "4.6%"
    assert percent_of(Decimal("1"), Decimal("0")) == ""


def test_login_page_renders_in_english_and_chinese(client):
    response = client.get(reverse("portal:login"))
    assert response.status_code == 200
    assert "Log in to online banking" in response.content.decode()

    _in_chinese(client)
    response = client.get(reverse("portal:login"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "登录网上银行" in page
    assert '<html lang="zh-hans">' in page


def test_logging_in_lands_on_the_dashboard(client):
    customer = CustomerFactory(full_name="Li Na")
    response = client.post(
        reverse("portal:login"), {"username": customer.user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.url == reverse("portal:dashboard")


def test_logout_is_post_only_and_ends_the_session(client):
    customer = CustomerFactory()
    client.force_login(customer.user)

    assert client.get(reverse("portal:logout")).status_code == 405
    response = client.post(reverse("portal:logout"))

    assert response.status_code == 302
    assert response.url == reverse("portal:login")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("name", ["portal:dashboard", "portal:transactions"])
def test_anonymous_visitor_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == f"{reverse('portal:login')}?next={reverse(name)}"


@pytest.mark.parametrize("name", ["portal:dashboard", "portal:transactions"])
def test_staff_without_customer_record_is_sent_to_admin(client, name):
    client.force_login(UserFactory(username="rm1", is_staff=True))
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_user_without_customer_record_sees_no_data(client):
    client.force_login(UserFactory(username="orphan"))
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 403
    assert "No banking record is linked to this login" in response.content.decode()


def test_dashboard_shows_own_accounts_and_transactions_only(client):
    me = CustomerFactory(full_name="Wang Fang")
    current = AccountFactory(customer=me, number="6222000011112222", balance=Decimal("15000.00"))
    CreditCardFactory(customer=me, number="6250000033334444", balance=Decimal("2300.00"),
                      credit_limit=Decimal("50000.00"))
    TransactionFactory(account=current, amount=Decimal("-128.50"), merchant="FreshMart")
    TransactionFactory(account=current, amount=Decimal("18500.00"), merchant="", counterparty="Acme Payroll",
                       category=SpendingCategory.SALARY)
    other = CustomerFactory(full_name="Zhao Lei")
    other_account = AccountFactory(customer=other, number="6222999988887777", balance=Decimal("987654.32"))
    TransactionFactory(account=other_account, amount=Decimal("-4321.09"), merchant="Secret Jeweller")
    client.force_login(me.user)

    response = client.get(reverse("portal:dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Wang Fang" in page
    assert "•••• 2222" in page
    assert "•••• 4444" in page
    assert "6222000011112222" not in page  # the full number is never shown
    assert "¥15,000.00" in page
    assert "¥2,300.00" in page
    assert "Limit ¥50,000.00 · 4.6% used" in page
    assert "-¥128.50" in page
    assert "¥18,500.00" in page
    assert "Acme Payroll" in page
    for leak in ("Zhao Lei", "•••• 7777", "¥987,654.32", "-¥4,321.09", "Secret Jeweller"):
        assert leak not in page
    assert [a.number for a in response.context["accounts"]] == ["6250000033334444", "6222000011112222"]
    assert {t.customer_id for t in response.context["transactions"]} == {me.pk}


def test_dashboard_shows_ten_most_recent_transactions(client):
    account = AccountFactory()
    for day in range(1, 13):
        TransactionFactory(account=account, timestamp=datetime(2026, 9, day, 10, tzinfo=SHANGHAI),
                           amount=Decimal(f"-{day}.00"))
    client.force_login(account.customer.user)

    response = client.get(reverse("portal:dashboard"))

    shown = [t.amount for t in response.context["transactions"]]
    assert shown == [Decimal(f"-{day}.00") for day in range(12, 2, -1)]


def test_dashboard_without_profile_says_it_is_being_prepared(client):
    customer = CustomerFactory(risk_tolerance=2)
    client.force_login(customer.user)

    page = client.get(reverse("portal:dashboard")).content.decode()

    assert "Your profile is being prepared" in page
    assert "R2 cautious" in page
    assert "You accept small ups and downs for slightly better returns." in page
    assert "Verified" in page


def test_dashboard_profile_follows_language_and_draws_spend_mix(client):
    customer = CustomerFactory()
    ProfileSnapshot.objects.create(
        customer=customer, as_of=date(2026, 10, 1), income_estimate_monthly=Decimal("20000.00"),
        spend_monthly=Decimal("8000.00"), spend_mix={"groceries": 0.5, "dining": 0.3, "travel": 0.2},
        summary_en="You spend mostly on groceries.", summary_zh="您的支出主要用于日常购物。",
    )
    ProfileSnapshot.objects.create(customer=customer, as_of=date(2026, 9, 1), summary_en="Old summary.")
    client.force_login(customer.user)

    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "You spend mostly on groceries." in page
    assert "Old summary." not in page
    assert "¥20,000.00" in page
    assert '<svg class="spend-chart"' in page
    assert "Groceries 50%; Dining 30%; Travel 20%" in page

    _in_chinese(client)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "您的支出主要用于日常购物。" in page
    assert "You spend mostly on groceries." not in page
    assert "您的概况" in page


def test_dashboard_lists_holdings_with_product_name_in_active_language(client):
    product = ProductFactory(code="DEP-12M", name_en="12-month deposit", name_zh="十二个月定期存款")
    holding = HoldingFactory(product=product, amount=Decimal("50000.00"))
    client.force_login(holding.customer.user)

    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "12-month deposit" in page
    assert "¥50,000.00" in page

    _in_chinese(client)
    assert "十二个月定期存款" in client.get(reverse("portal:dashboard")).content.decode()


def test_transactions_paginate_and_filter_by_own_account_and_category(client):
    me = CustomerFactory()
    current = AccountFactory(customer=me)
    card = CreditCardFactory(customer=me)
    for minute in range(30):
        TransactionFactory(account=current, timestamp=datetime(2026, 9, 1, 10, minute, tzinfo=SHANGHAI))
    TransactionFactory(account=card, merchant="Sky Air", category=SpendingCategory.TRAVEL,
                       amount=Decimal("-3200.00"))
    TransactionFactory(merchant="Not mine", category=SpendingCategory.TRAVEL)
    client.force_login(me.user)

    first = client.get(reverse("portal:transactions"))
    assert first.context["page"].paginator.count == 31
    assert len(first.context["page"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()

    by_account = client.get(reverse("portal:transactions"), {"account": str(card.public_id)})
    assert [t.merchant for t in by_account.context["page"].object_list] == ["Sky Air"]
    assert "-¥3,200.00" in by_account.content.decode()

    by_category = client.get(reverse("portal:transactions"), {"category": "travel"})
    assert [t.merchant for t in by_category.context["page"].object_list] == ["Sky Air"]
    assert "Not mine" not in by_category.content.decode()


def test_transactions_filter_on_another_customers_account_shows_nothing_of_theirs(client):
    me = CustomerFactory()
    TransactionFactory(account=AccountFactory(customer=me), merchant="Mine")
    theirs = TransactionFactory(merchant="Theirs")
    client.force_login(me.user)

    response = client.get(reverse("portal:transactions"), {"account": str(theirs.account.public_id)})

    assert response.status_code == 200
    assert [t.merchant for t in response.context["page"].object_list] == ["Mine"]
    assert "Theirs" not in response.content.decode()
