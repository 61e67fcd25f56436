"""Slots read from a customer's message, in English or Chinese: amount and currency, the accounts a request
is about (by type or by last four digits, as source or target), a date range, a product type and a term.

Rule-based, like the advisor's needs parser it builds on (`products.needs`): slots are what the assistant
acts on, so each must come from words the customer can see were understood, and a correction ("no, from
savings") must land in the right slot. Account references are *descriptions* ("savings", "card ending
1234"); they are resolved only against the customer's own accounts (chat.dialogue), never looked up globally.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from products.needs import parse_needs
from products.needs.numbers import read_amount

_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: " ", 0xFFE5: "¥"}

# Account kinds as customers name them; the values are customers.models.AccountType values.
_ACCOUNT_WORDS: list[tuple[str, str]] = [
    (r"credit[\s-]?cards?|信用卡|贷记卡", "credit_card"),
    (r"savings?(?:\s+account)?|deposit account|储蓄(?:账户|卡)?|存款账户|定期账户|储蓄户", "savings"),
    (r"current(?:\s+account)?|checking(?:\s+account)?|everyday(?:\s+account)?|main account|活期(?:账户)?"
     r"|结算账户|工资卡|借记卡|debit\s+card", "current"),
    (r"investment(?:\s+account)?|brokerage|投资账户|理财账户", "investment"),
    (r"loan(?:\s+account)?|mortgage|贷款(?:账户)?|房贷", "loan"),
    (r"(?<![a-z])cards?(?![a-z])|卡片?", "card"),
]
_ACCOUNT_RE = re.compile("|".join(f"(?P<k{i}>{pattern})" for i, (pattern, _) in enumerate(_ACCOUNT_WORDS)))
_LAST4_RE = re.compile(
    r"(?:ending(?:\s+in)?|ends?\s+(?:in|with)|last\s+(?:four|4)(?:\s+digits)?(?:\s+(?:are|is))?|no\.?|number"
    r"|尾号(?:为|是)?|末四位(?:是|为)?|[•*·]{2,}\s?)\s*(?P<a>\d{4})(?!\d)"
    r"|(?<!\d)(?P<b>\d{4})\s*(?:结尾|的卡|的账户|那张)")
_FROM_RE = re.compile(r"(?:(?<![a-z])from|out of|(?<![a-z])off|从|由|自)\s*(?:my|the|我的|我)?\s*$")
_TO_RE = re.compile(r"(?:(?<![a-z])(?:to|into|onto)|转到|转入|存到|存入|放到|到|进|至|给)\s*(?:my|the|我的|我)?\s*$")
_SOURCE_AFTER_RE = re.compile(r"\s*(?:的钱|里的钱|里)?\s*(?:转出|转到|转给|转入?|取出|出)")

_TODAY = ("today", "今天", "今日")
_YESTERDAY = ("yesterday", "昨天", "昨日")
_RELATIVE_RE = re.compile(
    r"(?:(?:last|past|previous|recent)\s+(?P<en_n>\d+|one|two|three|four|five|six|seven|ten|thirty)\s+"
    r"(?P<en_unit>days?|weeks?|months?))"
    r"|(?:最近|近|过去|前)\s*(?P<zh_n>\d+|[一二两三四五六七八九十]+)\s*(?P<zh_unit>天|日|周|个?星期|个?礼拜|个?月)"
    r"|(?P<zh_within>\d+|[一二两三四五六七八九十]+)\s*(?P<zh_within_unit>天|日|周|个月)(?:内|以内|之内)")
_EN_SMALL = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "thirty": 30}
_ZH_SMALL = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_THIS_WEEK = ("this week", "本周", "这周", "这个星期", "这星期", "本星期")
_LAST_WEEK = ("last week", "past week", "previous week", "上周", "上个星期", "上星期", "最近一周", "近一周", "过去一周",
              "上一周")
_THIS_MONTH = ("this month", "本月", "这个月", "当月")
_LAST_MONTH = ("last month", "past month", "previous month", "上个月", "上月", "最近一个月", "近一个月",
               "过去一个月")


@dataclass
class Slots:
    """What one message said. `accounts` are descriptions: {"role": "source"|"target"|None, "type": …,
    "last4": …}; `evidence` maps each slot to the words it came from."""

    amount: Decimal | None = None
    currency: str | None = None
    accounts: list[dict[str, str | None]] = field(default_factory=list)
    since: date | None = None
    until: date | None = None
    product_type: str | None = None
    term_months: int | None = None
    evidence: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.amount or self.accounts or self.since or self.product_type or self.term_months)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amount"] = None if self.amount is None else str(self.amount)
        data["since"] = None if self.since is None else self.since.isoformat()
        data["until"] = None if self.until is None else self.until.isoformat()
        return {key: value for key, value in data.items() if value not in (None, [], {})}


def normalise(text: str) -> str:
    return text.translate(_FULL_WIDTH).lower()


def extract_slots(text: str, *, today: date) -> Slots:
    """Every slot `text` fills. Deterministic; a few tens of microseconds."""
    lowered = normalise(text)
    slots = Slots()
    # Card and account numbers first, then blank them out so "ending 1234" is never read as ¥1,234.
    for m in _LAST4_RE.finditer(lowered):
        last4 = m["a"] or m["b"]
        slots.accounts.append({"role": _role(lowered, m.start(), m.end()), "type": None, "last4": last4})
        slots.evidence.setdefault("account", text[m.start():m.end()].strip())
        lowered = lowered[: m.start()] + " " * (m.end() - m.start()) + lowered[m.end():]
    for m in _ACCOUNT_RE.finditer(lowered):
        kind = next(_ACCOUNT_WORDS[int(name[1:])][1] for name, value in m.groupdict().items() if value)
        role = _role(lowered, m.start(), m.end())
        # "card ending 1234": the number and the word describe one account.
        merged = next((a for a in slots.accounts if a["type"] is None and a["last4"] and a["role"] in (None, role)),
                      None)
        if merged is not None and kind in ("card", "credit_card"):
            merged["type"] = kind
            continue
        slots.accounts.append({"role": role, "type": kind, "last4": None})
        slots.evidence.setdefault("account", text[m.start():m.end()].strip())
    _read_dates(lowered, text, today, slots)
    amount = read_amount(_without_dates(lowered))
    if amount is not None:
        slots.amount, slots.currency, (start, end) = amount[0].quantize(Decimal("0.01")), amount[1], amount[2]
        slots.evidence["amount"] = text[start:end].strip() if len(text) == len(lowered) else str(amount[0])
    try:
        needs = parse_needs(text[:500])
    except ValueError:
        needs = None
    if needs is not None:
        if needs.types and not any(a["type"] for a in slots.accounts):
            slots.product_type = needs.types[0]
        if needs.term_months_min is not None and needs.term_months_max is not None and slots.since is None:
            slots.term_months = round((needs.term_months_min + needs.term_months_max) / 2)
    return slots


def _role(text: str, start: int, end: int) -> str | None:
    before = text[max(0, start - 12):start]
    if _FROM_RE.search(before):
        return "source"
    if _TO_RE.search(before):
        return "target"
    if _SOURCE_AFTER_RE.match(text, end):
        return "source"
    return None


def _count(value: str) -> int:
    if value.isdigit():
        return int(value)
    if value in _EN_SMALL:
        return _EN_SMALL[value]
    if value.startswith("十"):
        return 10 + _ZH_SMALL.get(value[1:], 0)
    if "十" in value:
        tens, _, ones = value.partition("十")
        return _ZH_SMALL.get(tens, 1) * 10 + _ZH_SMALL.get(ones, 0)
    return _ZH_SMALL.get(value, 1)


def _read_dates(lowered: str, text: str, today: date, slots: Slots) -> None:
    def found(since: date, until: date, phrase: str) -> None:
        slots.since, slots.until = since, until
        slots.evidence["dates"] = phrase

    m = _RELATIVE_RE.search(lowered)
    if m is not None:
        n = _count(m["en_n"] or m["zh_n"] or m["zh_within"])
        unit = m["en_unit"] or m["zh_unit"] or m["zh_within_unit"]
        days = n * (30 if ("month" in unit or "月" in unit) else 7 if unit[0] in "w周星礼" or "星期" in unit else 1)
        found(today - timedelta(days=days - 1), today, text[m.start():m.end()].strip())
        return
    for words, span in ((_LAST_WEEK, "last_week"), (_LAST_MONTH, "last_month"), (_THIS_WEEK, "this_week"),
                        (_THIS_MONTH, "this_month"), (_YESTERDAY, "yesterday"), (_TODAY, "today")):
        phrase = next((w for w in words if w in lowered), None)
        if phrase is None:
            continue
        if span == "today":
            found(today, today, phrase)
        elif span == "yesterday":
            found(today - timedelta(days=1), today - timedelta(days=1), phrase)
        elif span == "this_week":
            found(today - timedelta(days=today.weekday()), today, phrase)
        elif span == "this_month":
            found(today.replace(day=1), today, phrase)
        elif span == "last_week" and phrase in ("past week", "最近一周", "近一周", "过去一周"):
            found(today - timedelta(days=6), today, phrase)
        elif span == "last_week":  # the calendar week before this one
            found(today - timedelta(days=today.weekday() + 7), today - timedelta(days=today.weekday() + 1), phrase)
        else:  # last month: the calendar month before this one, or the last 30 days when said as "past"
            if phrase in ("past month", "最近一个月", "近一个月", "过去一个月"):
                found(today - timedelta(days=29), today, phrase)
            else:
                end = today.replace(day=1) - timedelta(days=1)
                found(end.replace(day=1), end, phrase)
        return


_NOT_A_SUM_RE = re.compile(
    r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)\s*-?\s*(?:years?|yrs?|months?|mos?|weeks?|days?|hours?|%|percent"
    r"|年|个月|個月|周|星期|天|日|小时|岁|个点)(?![a-z])")


def _without_dates(lowered: str) -> str:
    # "last 30 days", "7天内", "a 1 year deposit" and "3%" are periods and rates, not sums.
    blank = lambda m: " " * (m.end() - m.start())  # noqa: E731
    return _NOT_A_SUM_RE.sub(blank, _RELATIVE_RE.sub(blank, lowered))
