"""Needs and Evidence: the constraints read from a customer's words, described back to them in English or
Chinese and turned into lookups on Product."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

from django.db.models import Q

from products.models import Liquidity, ProductType

Language = Literal["en", "zh"]

# Minimum amounts are stored in yuan even for dollar products (DEP-USD-*: "from USD 500" is 3500), at 7.
USD_CNY_REFERENCE = Decimal("7")

# Most liquid first: a customer asking for "at least weekly" is also served by a daily product.
_LIQUIDITY_ORDER = (Liquidity.DAILY.value, Liquidity.WEEKLY.value, Liquidity.MONTHLY.value,
                    Liquidity.AT_MATURITY.value)
# Open-ended products that can be left this easily fit any horizon the customer names (see `as_q`).
_LEAVABLE = [Liquidity.DAILY.value, Liquidity.WEEKLY.value, Liquidity.MONTHLY.value]
# The order constraints are described in, and the keys `Evidence.constraint` takes.
CONSTRAINTS = ("types", "excluded_types", "risk", "term", "amount", "currency", "liquidity", "min_return", "tags")


class Evidence(NamedTuple):
    constraint: str  # one of CONSTRAINTS
    phrase: str  # exactly as the customer typed it


@dataclass(frozen=True)
class Needs:
    """Constraints read from a customer's words. Every field is optional; an empty Needs constrains nothing."""

    types: tuple[str, ...] = ()  # ProductType values
    excluded_types: tuple[str, ...] = ()
    max_risk: int | None = None
    min_risk: int | None = None
    term_months_min: int | None = None
    term_months_max: int | None = None
    amount: Decimal | None = None  # in `currency`, or yuan when no currency was named
    currency: str | None = None
    liquidity: str | None = None  # a Liquidity value: "at least this liquid"
    min_return: Decimal | None = None  # percent a year
    tags: tuple[str, ...] = ()  # catalogue tags
    language: Language = "en"
    matched: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        # Needs are also rebuilt from stored JSON: refuse values no Product could ever match.
        unknown = set(self.types + self.excluded_types) - set(ProductType.values)
        if unknown:
            raise ValueError(f"unknown product types: {sorted(unknown)}")
        if self.currency is not None and self.currency not in _CURRENCY_LABELS:
            raise ValueError(f"unknown currency: {self.currency!r}")
        if self.liquidity is not None and self.liquidity not in _LIQUIDITY_ORDER:
            raise ValueError(f"unknown liquidity: {self.liquidity!r}")
        if any(r is not None and r not in range(1, 6) for r in (self.max_risk, self.min_risk)):
            raise ValueError(f"risk levels run from 1 to 5, not {self.min_risk!r}/{self.max_risk!r}")
        if self.language not in ("en", "zh"):
            raise ValueError(f"unknown language: {self.language!r}")

    @property
    def is_empty(self) -> bool:
        return not any((self.types, self.excluded_types, self.tags)) and all(
            value is None for value in (self.max_risk, self.min_risk, self.term_months_min, self.term_months_max,
                                        self.amount, self.currency, self.liquidity, self.min_return))

    def without_features(self) -> Needs:
        """These needs less the features (tags) and the phrases they came from: the harder constraints alone."""
        return replace(self, tags=(), matched=tuple(e for e in self.matched if e.constraint != "tags"))

    def describe(self, language: Language | None = None, *, sources: bool = False) -> list[str]:
        """The constraints in plain words for the customer; with `sources`, each names the phrase it came from."""
        zh = (language or self.language) == "zh"
        lines = _describe_lines(self, zh=zh)
        if not sources:
            return [line for _, line in lines]
        described = []
        for constraint, line in lines:
            phrases = [e.phrase for e in self.matched if e.constraint == constraint]
            if phrases and zh:
                line += "（来自" + "、".join(f"“{p}”" for p in phrases) + "）"
            elif phrases:
                line += " (from " + ", ".join(f"'{p}'" for p in phrases) + ")"
            described.append(line)
        return described

    def type_scope(self) -> tuple[str, ...]:
        """The product types that qualify: those asked for, or every type not excluded."""
        if self.types:
            return tuple(t for t in self.types if t not in self.excluded_types)
        if self.excluded_types:
            return tuple(t for t in ProductType.values if t not in self.excluded_types)
        return ()

    def as_filters(self) -> dict[str, Any]:
        """Lookups on Product, for `Product.objects.filter(**needs.as_filters())`.

        A term window here leaves out open-ended products (no term): NULL never compares. `as_q` keeps the
        ones a customer can leave at will, which is what a recommendation wants.
        """
        filters: dict[str, Any] = {}
        if scope := self.type_scope():
            filters["type__in"] = list(scope)
        if self.max_risk is not None:
            filters["risk_level__lte"] = self.max_risk
        if self.min_risk is not None:
            filters["risk_level__gte"] = self.min_risk
        low, high = self.term_months_min, self.term_months_max
        if low is not None and high is not None:
            filters["term_months__range"] = (low, high)
        elif low is not None:
            filters["term_months__gte"] = low
        elif high is not None:
            filters["term_months__lte"] = high
        if self.amount is not None:
            # The catalogue keeps minimum amounts in yuan, whatever the product's currency.
            rate = USD_CNY_REFERENCE if self.currency == "USD" else Decimal(1)
            filters["min_amount__lte"] = (self.amount * rate).quantize(Decimal("0.01"))
        if self.currency is not None:
            filters["currency"] = self.currency
        if self.liquidity is not None:
            filters["liquidity__in"] = list(_LIQUIDITY_ORDER[: _LIQUIDITY_ORDER.index(self.liquidity) + 1])
        if self.min_return is not None:
            filters["expected_return_max__gte"] = self.min_return
        if self.tags:
            filters["tags__overlap"] = list(self.tags)
        return filters

    def as_q(self) -> Q:
        """`as_filters` as one Q, where a term window also admits open-ended products that can be left any
        day, week or month: a money-market fund serves "about a year" as well as a 12-month plan does."""
        filters = self.as_filters()
        term = {key: filters.pop(key) for key in list(filters) if key.startswith("term_months__")}
        q = Q(**filters)
        if term:
            q &= Q(**term) | Q(term_months__isnull=True, liquidity__in=_LEAVABLE)
        return q

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimals as strings) for storing with a recommendation; `from_json` reverses it."""
        return {
            "types": list(self.types), "excluded_types": list(self.excluded_types),
            "max_risk": self.max_risk, "min_risk": self.min_risk,
            "term_months_min": self.term_months_min, "term_months_max": self.term_months_max,
            "amount": None if self.amount is None else str(self.amount), "currency": self.currency,
            "liquidity": self.liquidity, "min_return": None if self.min_return is None else str(self.min_return),
            "tags": list(self.tags), "language": self.language,
            "matched": [[e.constraint, e.phrase] for e in self.matched],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Needs:
        """Raises ValueError (KeyError for a missing key) when `data` is not what `to_json` wrote."""
        def decimal(value: str | None) -> Decimal | None:
            try:
                return None if value is None else Decimal(value)
            except InvalidOperation:
                raise ValueError(f"not a decimal: {value!r}") from None

        return cls(
            types=tuple(data["types"]), excluded_types=tuple(data["excluded_types"]),
            max_risk=data["max_risk"], min_risk=data["min_risk"],
            term_months_min=data["term_months_min"], term_months_max=data["term_months_max"],
            amount=decimal(data["amount"]), currency=data["currency"], liquidity=data["liquidity"],
            min_return=decimal(data["min_return"]), tags=tuple(data["tags"]), language=data["language"],
            matched=tuple(Evidence(constraint, phrase) for constraint, phrase in data["matched"]),
        )


# --- Describing -----------------------------------------------------------------------------------------

_TYPE_LABELS = {"deposit": ("deposit", "存款"), "wealth": ("wealth management", "理财"), "fund": ("fund", "基金"),
                "bond": ("bond", "债券"), "credit_card": ("credit card", "信用卡"), "loan": ("loan", "贷款"),
                "insurance": ("insurance", "保险")}
_RISK_LABELS = {1: ("conservative", "保守型"), 2: ("cautious", "稳健型"), 3: ("balanced", "平衡型"),
                4: ("growth", "成长型"), 5: ("aggressive", "进取型")}
_LIQUIDITY_LABELS = {"daily": ("Money available any day", "随时可取"),
                     "weekly": ("Money available at least weekly", "至少每周可取"),
                     "monthly": ("Money available at least monthly", "至少每月可取"),
                     "at_maturity": ("Money available at maturity", "到期可取")}
_CURRENCY_LABELS = {"CNY": ("¥", "人民币"), "USD": ("US$", "美元")}
_TAG_LABELS_EN = {"no-fx-fee": "no foreign-exchange fee", "capital-protected": "capital protected",
                  "esg": "ESG", "qdii": "QDII (overseas markets)", "sme": "small business"}
_TAG_LABELS_ZH = {
    "travel": "旅行", "no-fx-fee": "免货币转换费", "lounge": "贵宾厅", "miles": "航空里程", "points": "积分",
    "cash-back": "返现", "dining": "餐饮", "shopping": "购物", "student": "学生", "car": "汽车", "fuel": "加油",
    "green": "绿色", "esg": "ESG", "home": "住房", "mortgage": "按揭", "renovation": "装修", "education": "教育",
    "abroad": "留学", "family": "家庭", "retirement": "退休", "pension": "养老", "monthly-income": "按月收入",
    "income": "收入", "annuity": "年金", "dividend": "分红", "index": "指数", "technology": "科技",
    "semiconductor": "半导体", "new-energy": "新能源", "healthcare": "医疗健康", "global": "全球",
    "qdii": "QDII（境外市场）", "business": "经营", "sme": "小微企业", "senior": "老年", "medical": "医疗",
    "health": "健康", "protection": "保障", "life": "寿险", "accident": "意外", "critical-illness": "重疾",
    "capital-protected": "保本", "money-market": "货币市场", "cash-management": "现金管理",
    "fixed-income": "固定收益", "private-banking": "私人银行", "foreign-currency": "外币", "bond": "债券",
    "equity": "股票", "government": "国债", "savings-bond": "储蓄国债", "large-cd": "大额存单", "notice": "通知存款",
    "personal": "个人消费", "provident-fund": "公积金",
}


def _money(amount: Decimal, currency: str | None) -> str:
    symbol = _CURRENCY_LABELS[currency or "CNY"][0]
    return f"{symbol}{amount:,.0f}" if amount == amount.to_integral_value() else f"{symbol}{amount:,.2f}"


def _describe_lines(needs: Needs, *, zh: bool) -> list[tuple[str, str]]:
    """(constraint, line) pairs in CONSTRAINTS order."""
    i = 1 if zh else 0
    lines: list[tuple[str, str]] = []
    sep = "、" if zh else ", "
    if needs.types:
        lines.append(("types", ("产品类型：" if zh else "Type: ") + sep.join(_TYPE_LABELS[t][i] for t in needs.types)))
    if needs.excluded_types:
        excluded = sep.join(_TYPE_LABELS[t][i] for t in needs.excluded_types)
        lines.append(("excluded_types", ("不要：" if zh else "Not: ") + excluded))
    low, high = needs.min_risk, needs.max_risk
    if low is not None and high is not None:
        (en_low, zh_low), (en_high, zh_high) = _RISK_LABELS[low], _RISK_LABELS[high]
        lines.append(("risk", f"风险介于 R{low}（{zh_low}）和 R{high}（{zh_high}）之间" if zh
                      else f"Risk between R{low} ({en_low}) and R{high} ({en_high})"))
    elif high is not None:
        lines.append(("risk", f"风险不高于 R{high}（{_RISK_LABELS[high][1]}）" if zh
                      else f"Risk at most R{high} ({_RISK_LABELS[high][0]})"))
    elif low is not None:
        lines.append(("risk", f"风险不低于 R{low}（{_RISK_LABELS[low][1]}）" if zh
                      else f"Risk at least R{low} ({_RISK_LABELS[low][0]})"))
    low, high = needs.term_months_min, needs.term_months_max
    if low is not None and high is not None:
        lines.append(("term", (f"期限 {low} 个月" if zh else f"Term {low} months") if low == high
                      else (f"期限约 {low}–{high} 个月" if zh else f"Term about {low}–{high} months")))
    elif high is not None:
        lines.append(("term", f"期限不超过 {high} 个月" if zh else f"Term at most {high} months"))
    elif low is not None:
        lines.append(("term", f"期限不少于 {low} 个月" if zh else f"Term at least {low} months"))
    if needs.amount is not None:
        lines.append(("amount", ("金额 " if zh else "Amount ") + _money(needs.amount, needs.currency)))
    if needs.currency is not None:
        lines.append(("currency", f"币种：{_CURRENCY_LABELS[needs.currency][1]}" if zh
                      else f"Currency: {needs.currency}"))
    if needs.liquidity is not None:
        lines.append(("liquidity", _LIQUIDITY_LABELS[needs.liquidity][i]))
    if needs.min_return is not None:
        lines.append(("min_return", f"预期年化收益不低于 {needs.min_return}%" if zh
                      else f"Expected return at least {needs.min_return}% a year"))
    if needs.tags:
        labels = [_TAG_LABELS_ZH.get(t, t) if zh else _TAG_LABELS_EN.get(t, t.replace("-", " ")) for t in needs.tags]
        lines.append(("tags", ("特点：" if zh else "Features: ") + sep.join(labels)))
    return lines
