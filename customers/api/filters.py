"""Filters of the customer list. A value that does not validate (an unknown segment code) is a 400 naming the
parameter, never ignored: a caller who mistyped a segment must learn it, not get every customer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request

from bank.api.errors import raise_first_error
from customers.models import Customer, Segment


class CustomerFilter(django_filters.FilterSet):
    segment = django_filters.ModelChoiceFilter(
        queryset=Segment.objects.all(), to_field_name="code",
        help_text="A segment's code (e.g. S03): only customers in that segment now.",
        error_messages={"invalid_choice": "No segment with this code."},
    )

    class Meta:
        model = Customer
        fields: list[str] = []


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose errors are a 400 invalid_parameter naming the parameter."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise_first_error(filterset.errors)
        return filterset.qs
