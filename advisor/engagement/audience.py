"""Who a campaign is for: a small JSON spec, validated on save (pure), turned into one customer query.

    {"segments": ["S03"], "life_stages": ["young_family"], "age_min": 25, "age_max": 45,
     "income_min": "120000", "income_max": null, "risk_min": 2, "risk_max": 5,
     "holds_types": ["credit_card"], "not_holds_types": ["loan"], "balance_min": "50000", "balance_max": null,
     "recommended_products": ["DEP-12M-STD"], "recommended_types": ["wealth"]}

Every key is optional; all given conditions must hold. "balance" is the customer's current and savings balance;
"holds" counts active holdings and open card/loan accounts; "recommended" looks at the customer's latest
recommendation set only (what we would show them today).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from customers.models import Account, AccountType, Customer, Holding, LifeStage
from products.models import ProductType

LIST_KEYS = ("segments", "life_stages", "holds_types", "not_holds_types", "recommended_products",
             "recommended_types")
INT_KEYS = ("age_min", "age_max", "risk_min", "risk_max")
MONEY_KEYS = ("income_min", "income_max", "balance_min", "balance_max")
KNOWN_KEYS = frozenset(LIST_KEYS + INT_KEYS + MONEY_KEYS)


def validate_audience(spec: Any) -> dict[str, Any]:
    """The spec, normalised (money as strings of Decimals, lists of strings); ValidationError naming each problem.
    Segment and product codes are checked against the database by `check_codes`."""
    if spec in (None, ""):
        return {}
    if not isinstance(spec, dict):
        raise ValidationError(_("The audience must be a JSON object."), code="audience")
    errors: list[str] = []
    unknown = sorted(set(spec) - KNOWN_KEYS)
    if unknown:
        errors.append(_("Unknown audience keys: %(keys)s.") % {"keys": ", ".join(unknown)})
    out: dict[str, Any] = {}
    for key in LIST_KEYS:
        if spec.get(key) in (None, []):
            continue
        value = spec[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors.append(_("%(key)s must be a list of codes.") % {"key": key})
            continue
        out[key] = sorted(set(value))
    for key, allowed in (("life_stages", LifeStage.values), ("holds_types", ProductType.values),
                         ("not_holds_types", ProductType.values), ("recommended_types", ProductType.values)):
        bad = sorted(set(out.get(key, [])) - set(allowed))
        if bad:
            errors.append(_("%(key)s: unknown value(s) %(values)s.") % {"key": key, "values": ", ".join(bad)})
    for key in INT_KEYS:
        if spec.get(key) is None:
            continue
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(_("%(key)s must be a whole number ≥ 0.") % {"key": key})
            continue
        out[key] = value
    for key in MONEY_KEYS:
        if spec.get(key) in (None, ""):
            continue
        try:
            amount = Decimal(str(spec[key]))
        except InvalidOperation:
            errors.append(_("%(key)s must be an amount.") % {"key": key})
            continue
        if not amount.is_finite() or amount < 0:
            errors.append(_("%(key)s must be an amount ≥ 0.") % {"key": key})
            continue
        out[key] = str(amount)
    for low, high in (("age_min", "age_max"), ("risk_min", "risk_max"), ("income_min", "income_max"),
                      ("balance_min", "balance_max")):
        if low in out and high in out and Decimal(str(out[low])) > Decimal(str(out[high])):
            errors.append(_("%(low)s is above %(high)s.") % {"low": low, "high": high})
    for key in ("risk_min", "risk_max"):
        if key in out and not 1 <= out[key] <= 5:
            errors.append(_("%(key)s must be between 1 and 5.") % {"key": key})
    if set(out.get("holds_types", [])) & set(out.get("not_holds_types", [])):
        errors.append(_("A product type cannot be both held and not held."))
    if errors:
        raise ValidationError(errors, code="audience")
    return out


def check_codes(spec: dict[str, Any]) -> None:
    """ValidationError for segment or product codes that do not exist."""
    from customers.models import Segment
    from products.models import Product

    errors = []
    segments = set(spec.get("segments", []))
    missing = segments - set(Segment.objects.filter(code__in=segments).values_list("code", flat=True))
    if missing:
        errors.append(_("Unknown segment(s): %(codes)s.") % {"codes": ", ".join(sorted(missing))})
    products = set(spec.get("recommended_products", []))
    missing = products - set(Product.objects.filter(code__in=products).values_list("code", flat=True))
    if missing:
        errors.append(_("Unknown product(s): %(codes)s.") % {"codes": ", ".join(sorted(missing))})
    if errors:
        raise ValidationError(errors, code="audience")


def birth_date_bounds(*, age_min: int | None, age_max: int | None, today: date) -> tuple[date | None, date | None]:
    """(earliest, latest) birth dates of people aged age_min..age_max on `today` (inclusive)."""
    latest = _years_before(today, age_min) if age_min is not None else None
    earliest = None
    if age_max is not None:
        # Aged at most age_max: born after the day they would have turned age_max + 1.
        earliest = date.fromordinal(_years_before(today, age_max + 1).toordinal() + 1)
    return earliest, latest


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _holds(types: list[str]) -> Q:
    holding = Holding.objects.filter(customer=OuterRef("pk"), status=Holding.Status.ACTIVE, product__type__in=types)
    account = Account.objects.filter(customer=OuterRef("pk"), product__type__in=types).exclude(
        status=Account.Status.CLOSED)
    return Q(Exists(holding)) | Q(Exists(account))


def liquid_balance() -> Coalesce:
    """Current and savings balance of the outer customer, as an annotation."""
    total = (Account.objects.filter(customer=OuterRef("pk"), type__in=[AccountType.CURRENT, AccountType.SAVINGS],
                                    status=Account.Status.ACTIVE)
             .order_by().values("customer").annotate(total=Sum("balance")).values("total"))
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=16, decimal_places=2)),
                    Value(Decimal("0")), output_field=DecimalField(max_digits=16, decimal_places=2))


def audience_queryset(spec: dict[str, Any], *, today: date, base: QuerySet[Customer] | None = None
                      ) -> QuerySet[Customer]:
    """The customers matching `spec` (already validated). Consent is NOT applied here: the send rules apply it,
    so every customer the audience names gets a row saying what happened to them."""
    from advisor.models import Recommendation, RecommendationSet

    customers = base if base is not None else Customer.objects.all()
    if spec.get("segments"):
        customers = customers.filter(segment__code__in=spec["segments"])
    if spec.get("life_stages"):
        customers = customers.filter(life_stage__in=spec["life_stages"])
    earliest, latest = birth_date_bounds(age_min=spec.get("age_min"), age_max=spec.get("age_max"), today=today)
    if earliest:
        customers = customers.filter(birth_date__gte=earliest)
    if latest:
        customers = customers.filter(birth_date__lte=latest)
    if "income_min" in spec:
        customers = customers.filter(declared_annual_income__gte=Decimal(spec["income_min"]))
    if "income_max" in spec:
        customers = customers.filter(declared_annual_income__lte=Decimal(spec["income_max"]))
    if "risk_min" in spec:
        customers = customers.filter(risk_tolerance__gte=spec["risk_min"])
    if "risk_max" in spec:
        customers = customers.filter(risk_tolerance__lte=spec["risk_max"])
    if spec.get("holds_types"):
        customers = customers.filter(_holds(spec["holds_types"]))
    if spec.get("not_holds_types"):
        customers = customers.exclude(_holds(spec["not_holds_types"]))
    if "balance_min" in spec or "balance_max" in spec:
        customers = customers.annotate(_liquid=liquid_balance())
        if "balance_min" in spec:
            customers = customers.filter(_liquid__gte=Decimal(spec["balance_min"]))
        if "balance_max" in spec:
            customers = customers.filter(_liquid__lte=Decimal(spec["balance_max"]))
    if spec.get("recommended_products") or spec.get("recommended_types"):
        latest_set = RecommendationSet.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-id")
        customers = customers.annotate(_latest_set=Subquery(latest_set.values("pk")[:1]))
        items = Recommendation.objects.filter(recommendation_set_id=OuterRef("_latest_set"))
        if spec.get("recommended_products"):
            customers = customers.filter(Exists(items.filter(product__code__in=spec["recommended_products"])))
        if spec.get("recommended_types"):
            customers = customers.filter(Exists(items.filter(product__type__in=spec["recommended_types"])))
    return customers.order_by("id")
