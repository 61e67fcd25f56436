"""Message templates: a small, safe placeholder syntax and per-language formatting of the customer's data.

A template is plain text with `{{ name }}` placeholders from a fixed list; no tags, no filters, no attribute
access (staff write these in the admin, so nothing in them can reach an object or run code). Values are formatted
before they are substituted: money and dates the way each language writes them. Everything here is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

LANGUAGES = ("en", "zh-hans")

# name -> what it stands for (shown to staff in the admin's help text).
PLACEHOLDERS: dict[str, str] = {
    "first_name": "The customer's given name (in Chinese, the name after the surname)",
    "full_name": "The customer's full name",
    "product_name": "The promoted or suggested product, in the message's language",
    "product_rate": "The product's expected yearly return range, e.g. 1.8–2.1 %",
    "balance": "The customer's current and savings balance",
    "amount": "The amount of the event (a maturing deposit's principal)",
    "maturity_date": "The date a deposit matures",
    "salary_amount": "The salary just credited",
    "age": "The customer's age (on a birthday, the new age)",
}
PRODUCT_PLACEHOLDERS = frozenset({"product_name", "product_rate"})

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_TAG = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class TemplateError(ValueError):
    """A template that uses something other than the known placeholders."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def placeholders_in(text: str) -> set[str]:
    """The placeholder names `text` uses. Raises TemplateError for unknown names or any other template syntax."""
    names = set(_PLACEHOLDER.findall(text))
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise TemplateError(str(_("Unknown placeholder(s): %(names)s.") % {"names": ", ".join(unknown)}),
                            code="unknown_placeholder")
    if _ANY_TAG.search(_PLACEHOLDER.sub("", text)):
        raise TemplateError(str(_("Only {{ placeholder }} is allowed: no tags, filters or comments.")),
                            code="template_syntax")
    return names


def render(text: str, values: dict[str, str]) -> str:
    """`text` with each placeholder replaced by its (already formatted) value. Raises TemplateError for a
    placeholder that is unknown or has no value."""
    placeholders_in(text)

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"No value for {{{{ {name} }}}}.", code="missing_value")
        return values[name]

    return _PLACEHOLDER.sub(value_of, text)


def is_chinese(language: str) -> bool:
    return language.lower().startswith("zh")


def format_money(amount: Decimal, language: str, currency: str = "CNY") -> str:
    """en: "CNY 12,345.60"; zh: "12,345.60元" (other currencies keep their code in both)."""
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if is_chinese(language):
        return f"{amount:,.2f}元" if currency == "CNY" else f"{amount:,.2f} {currency}"
    return f"{currency} {amount:,.2f}"


def format_date(day: date, language: str) -> str:
    """en: "5 December 2026"; zh: "2026年12月5日"."""
    if is_chinese(language):
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day:%B} {day.year}"


def format_rate(low: Decimal | None, high: Decimal | None, language: str) -> str:
    if low is None and high is None:
        return ""
    if low is None or high is None or low == high:
        return f"{(low if low is not None else high):.2f}%"
    return f"{low:.2f}–{high:.2f}%"


def first_name(full_name: str) -> str:
    """The name a greeting uses: the given name of a Chinese name (surname first, one character; "王小明" ->
    "小明"), the first word of a Western one."""
    name = full_name.strip()
    if _CJK.search(name):
        return name[1:] if len(name) > 2 else name
    return name.split()[0] if name else ""


@dataclass(frozen=True)
class MessageFacts:
    """The customer's data a message may show, unformatted."""

    full_name: str
    age: int
    balance: Decimal
    product_name_en: str = ""
    product_name_zh: str = ""
    rate_min: Decimal | None = None
    rate_max: Decimal | None = None
    amount: Decimal | None = None
    maturity_date: date | None = None
    salary_amount: Decimal | None = None
    currency: str = "CNY"


def values_for(facts: MessageFacts, language: str) -> dict[str, str]:
    """The placeholder values in `language`; a fact that is missing gives no value (so a template that needs it
    fails to render instead of printing a blank)."""
    zh = is_chinese(language)
    values = {
        "first_name": first_name(facts.full_name),
        "full_name": facts.full_name,
        "balance": format_money(facts.balance, language, facts.currency),
        "age": str(facts.age),
    }
    if facts.product_name_en or facts.product_name_zh:
        values["product_name"] = (facts.product_name_zh if zh else facts.product_name_en) or facts.product_name_en
        values["product_rate"] = format_rate(facts.rate_min, facts.rate_max, language)
    if facts.amount is not None:
        values["amount"] = format_money(facts.amount, language, facts.currency)
    if facts.maturity_date is not None:
        values["maturity_date"] = format_date(facts.maturity_date, language)
    if facts.salary_amount is not None:
        values["salary_amount"] = format_money(facts.salary_amount, language, facts.currency)
    return values


SAMPLE_FACTS = MessageFacts(
    full_name="王小明", age=35, balance=Decimal("86500.00"), product_name_en="12-month deposit",
    product_name_zh="一年期定期存款", rate_min=Decimal("1.80"), rate_max=Decimal("2.10"),
    amount=Decimal("50000.00"), maturity_date=date(2026, 12, 5), salary_amount=Decimal("18600.00"),
)
