"""Product catalogue pages of the portal: browse, search and read one product.

The catalogue is public information (it holds nothing about customers), so these pages need no login and
read Product directly; suitability for a given customer is the advisor's business, not the catalogue's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from products.models import Product, ProductType, RiskLevel
from products.needs import Language

PRODUCTS_PER_PAGE = 20
SEARCH_LIMIT = 20


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *ProductType.choices]
    )
    max_risk = forms.TypedChoiceField(
        label=_("Highest risk"), required=False, coerce=int, empty_value=None,
        choices=[("", _("Any risk")), *RiskLevel.choices],
    )
    # understand=0 (the page's "search the words only" link) ranks by the words without reading constraints.
    understand = forms.CharField(required=False, max_length=1)


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    query, product_type, max_risk, understand = "", None, None, True
    if form.is_bound:
        # A filter that does not validate is dropped (and said so on the page); the others still apply.
        form.is_valid()
        query = form.cleaned_data.get("q", "").strip()
        product_type = form.cleaned_data.get("type") or None
        max_risk = form.cleaned_data.get("max_risk")
        understand = form.cleaned_data.get("understand") != "0"
    context: dict[str, Any] = {"form": form, "query": query, "search_error": ""}
    if query:
        # Imported here: search loads the embedding model lazily and the catalogue page must not pay for
        # it (or fail) when nobody searches.
        from products.search import SearchError, search_catalogue

        try:
            found = search_catalogue(
                query=query, types=[product_type] if product_type else None, max_risk=max_risk,
                active_only=True, limit=SEARCH_LIMIT, understand=understand,
            )
        except SearchError:
            context["products"] = []
            context["search_error"] = _("That search could not be run. Try other words or fewer filters.")
        else:
            context["products"] = [hit.product for hit in found.hits]
            if not found.understood.is_empty:
                language: Language = "zh" if (get_language() or "").startswith("zh") else "en"
                context["understood"] = found.understood.describe(language, sources=True)
                context["understood_applied"] = found.applied
                words_only = request.GET.copy()
                words_only["understand"] = "0"
                words_only.pop("page", None)
                context["words_only_query"] = words_only.urlencode()
        context["page"] = None
    else:
        rows = Product.objects.filter(is_active=True)
        if product_type:
            rows = rows.filter(type=product_type)
        if max_risk is not None:
            rows = rows.filter(risk_level__lte=max_risk)
        page = Paginator(rows.order_by("type", "risk_level", "code"), PRODUCTS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context["products"] = list(page.object_list)
        context["page"] = page
    params = request.GET.copy()
    params.pop("page", None)
    context["filter_query"] = params.urlencode()
    return render(request, "portal/products.html", context)


@require_GET
def product_detail(request: HttpRequest, code: str) -> HttpResponse:
    # Withdrawn products stay readable: a customer may still hold one and follow a link to it.
    product = get_object_or_404(Product, code=code)
    return render(request, "portal/product_detail.html", {"product": product})
