"""Presentation helpers of the customer portal: money, risk badges and the spend-mix chart.

Everything is rendered on the server (no JavaScript, no CDN): the portal must work in a branch kiosk with
no internet, and a chart drawn as inline SVG is readable by screen readers through its title and table.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext as _

from customers.models import SpendingCategory

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "¥"}
CENT = Decimal("0.01")
# A chart with more bars than this is read, not looked at; the smallest categories are folded into one bar.
CHART_MAX_BARS = 6


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    """`Decimal("-1234.5")|money:"CNY"` -> "-¥1,234.50". Grouping is the same in English and Chinese."""
    amount = _decimal(value)
    if amount is None:
        return ""
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


@register.filter
def percent_of(part: Any, whole: Any) -> str:
    """`balance|percent_of:credit_limit` -> "4.6%"; empty when the whole is zero or missing."""
    numerator, denominator = _decimal(part), _decimal(whole)
    if numerator is None or not denominator:
        return ""
    share = (numerator / denominator * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{share}%"


@register.filter
def rate(value: Any) -> str:
    """A percent-per-year figure stored with three decimals: Decimal("1.800") -> "1.8%"."""
    number = _decimal(value)
    if number is None:
        return ""
    text = f"{number.quantize(Decimal('0.001')):f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.inclusion_tag("portal/_risk_badge.html")
def risk_badge(level: int | None, label: str = "") -> dict[str, Any]:
    return {"level": level, "label": label}


@register.inclusion_tag("portal/_spend_mix_chart.html")
def spend_mix_chart(spend_mix: dict[str, Any] | None) -> dict[str, Any]:
    """Horizontal bars of the share of spending per category, largest first.

    Bars rather than a donut: lengths on a common baseline are compared at a glance, angles are not.
    """
    shares: list[tuple[str, Decimal]] = []
    for category, share in (spend_mix or {}).items():
        value = _decimal(share)
        if value is not None and value > 0:
            shares.append((category, value))
    shares.sort(key=lambda item: (-item[1], item[0]))
    if len(shares) > CHART_MAX_BARS:
        rest = sum((value for _category, value in shares[CHART_MAX_BARS - 1 :]), Decimal("0"))
        shares = shares[: CHART_MAX_BARS - 1] + [("__rest__", rest)]
    total = sum((value for _category, value in shares), Decimal("0"))
    # The longest bar fills the width; the labels carry the true shares.
    largest = max((value for _category, value in shares), default=Decimal("0"))
    labels = dict(SpendingCategory.choices)
    bar_height, gap, label_width, bar_area = 22, 10, 130, 300
    bars = []
    for index, (category, value) in enumerate(shares):
        fraction = value / total if total else Decimal("0")
        percent = (fraction * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        width = max(2, int(value / largest * bar_area)) if largest else 2
        y = index * (bar_height + gap)
        bars.append(
            {
                "label": _("All other") if category == "__rest__" else str(labels.get(category, category)),
                "percent": percent,
                "y": y,
                "text_y": y + bar_height // 2 + 5,
                "width": width,
                "value_x": label_width + width + 8,
                "tone": index % 6,
            }
        )
    return {
        "bars": bars,
        "bar_height": bar_height,
        "label_width": label_width,
        "height": max(0, len(bars) * (bar_height + gap) - gap),
        "width": label_width + bar_area + 60,
    }
