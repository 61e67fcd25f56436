"""Filters of the product list. A value that does not validate is a 400 naming the parameter, never ignored:
a partner that typed `risk_level_max=9` must learn it, not get the whole catalogue."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from bank.api.errors import InvalidParameter
from products.models import Product, ProductType, RiskLevel


class IntegerFilter(django_filters.NumberFilter):
    # NumberFilter's field is a DecimalField and would take "2.5" as a risk level.
    field_class = forms.IntegerField


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ties are broken by code, so that pages of a sorted list neither repeat nor skip a product."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        return qs.order_by(*[self.get_ordering_value(param) for param in value], "code")


class ProductFilter(django_filters.FilterSet):
    type = django_filters.MultipleChoiceFilter(
        choices=ProductType.choices, help_text="One or more product types (repeat the parameter)."
    )
    risk_level_max = IntegerFilter(
        field_name="risk_level",
        lookup_expr="lte",
        min_value=RiskLevel.R1,
        max_value=RiskLevel.R5,
        help_text="Highest risk level, 1 to 5.",
    )
    currency = django_filters.CharFilter(
        method="filter_currency",
        validators=[RegexValidator(r"^[A-Za-z]{3}$", "Use a three-letter ISO 4217 code.")],
        help_text="ISO 4217 code, e.g. CNY.",
    )
    term_months_max = IntegerFilter(
        field_name="term_months",
        lookup_expr="lte",
        min_value=0,
        help_text="Longest fixed term in months; open-ended products have no term and are not included.",
    )
    min_amount_max = django_filters.NumberFilter(
        field_name="min_amount",
        lookup_expr="lte",
        min_value=0,
        help_text="Products whose minimum investment is at most this amount.",
    )
    ordering = StableOrderingFilter(
        fields=(
            ("code", "code"),
            ("name_en", "name"),
            ("risk_level", "risk_level"),
            ("expected_return_max", "expected_return"),
            ("term_months", "term_months"),
            ("min_amount", "min_amount"),
        ),
        help_text="Sort key; prefix with '-' for descending. Cannot be combined with q (relevance order).",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_currency(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.filter(currency=value.upper())


class ProductFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose errors are InvalidParameter (code invalid_parameter, the parameter named)."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            name, messages = next(iter(filterset.errors.items()))
            raise InvalidParameter(name, str(messages[0]))
        return filterset.qs
