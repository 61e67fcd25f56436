"""Slots read from English and Chinese messages."""

from datetime import date
from decimal import Decimal

import pytest

from chat.sentiment import sentiment
from chat.slots import extract_slots

TODAY = date(2026, 12, 1)  # a Tuesday


@pytest.mark.parametrize(("text", "amount", "accounts"), [
    ("move 500 from savings to current", "500.00", [("source", "savings"), ("target", "current")]),
    ("从储蓄账户转1000到活期", "1000.00", [("source", "savings"), ("target", "current")]),
    ("transfer 2k to my savings", "2000.00", [("target", "savings")]),
    ("转一万五到储蓄", "15000.00", [("target", "savings")]),
    ("储蓄里的钱转500到活期", "500.00", [("source", "savings"), ("target", "current")]),
    ("no, from savings", None, [("source", "savings")]),
    ("move ¥3,000 into my current account", "3000.00", [("target", "current")]),
])
def test_amounts_and_accounts_with_their_roles(text, amount, accounts):
    slots = extract_slots(text, today=TODAY)
    assert (str(slots.amount) if slots.amount is not None else None) == amount
    assert [(a["role"], a["type"]) for a in slots.accounts] == accounts


def test_a_card_number_ending_is_an_account_not_an_amount():
    slots = extract_slots("freeze the card ending 1234", today=TODAY)
    assert slots.amount is None
    assert slots.accounts == [{"role": None, "type": "card", "last4": "1234"}]
    assert extract_slots("冻结尾号5678的信用卡", today=TODAY).accounts == [
        {"role": None, "type": "credit_card", "last4": "5678"}]


@pytest.mark.parametrize(("text", "since", "until"), [
    ("show my transactions last week", date(2026, 11, 23), date(2026, 11, 29)),
    ("what did I spend in the past week", date(2026, 11, 25), date(2026, 12, 1)),
    ("最近30天的交易", date(2026, 11, 2), date(2026, 12, 1)),
    ("上个月花了多少", date(2026, 11, 1), date(2026, 11, 30)),
    ("spending this month", date(2026, 12, 1), date(2026, 12, 1)),
    ("昨天的交易", date(2026, 11, 30), date(2026, 11, 30)),
])
def test_date_ranges(text, since, until):
    slots = extract_slots(text, today=TODAY)
    assert (slots.since, slots.until) == (since, until)
    assert slots.amount is None


def test_terms_and_product_types_are_not_sums():
    slots = extract_slots("I want a 1 year deposit", today=TODAY)
    assert (slots.amount, slots.product_type, slots.term_months) == (None, "deposit", 12)
    assert extract_slots("一年期存款5万", today=TODAY).amount == Decimal("50000.00")


def test_sentiment_reads_anger_politeness_and_negation():
    assert sentiment("This is the worst bank ever, totally useless!!") == -1.0
    assert sentiment("你们这个破银行，气死我了！") == -1.0
    assert sentiment("where is my card") == 0.0
    assert -0.6 < sentiment("I am not happy") < 0
    assert sentiment("thanks, great help") > 0.5
