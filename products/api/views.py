"""The product catalogue API: list (filtered, sorted or searched) and detail.

The catalogue holds nothing about customers, but it is still behind authentication: portal users and staff
(session) and partners whose token has `products:read`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bank.api.errors import InvalidParameter, raise_first_error
from bank.api.pagination import Pagination
from bank.api.permissions import HasScope
from bank.api.schema import error_responses
from products.api.filters import ProductFilter, ProductFilterBackend
from products.api.serializers import ProductDetailOut, ProductListItemOut, ProductListQueryIn
from products.models import Product
from products.needs import Needs

# A search answers with the best matches, not the whole catalogue; they are then paginated like any list.
SEARCH_LIMIT = 100


class ProductPagination(Pagination):
    """The list's pages, with what a search understood from q beside the results (null without q)."""

    understood: dict[str, Any] | None = None

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["understood"] = self.understood
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        strings = {"type": "array", "items": {"type": "string"}}
        envelope["properties"]["understood"] = {
            "type": "object",
            "nullable": True,
            "description": "With q (and understand not false): the constraints read from it; null when none.",
            "required": ["applied", "constraints", "en", "zh"],
            "properties": {
                "applied": {
                    "type": "boolean",
                    "description": "True when the results meet the constraints; false when no active product "
                                   "did and the results are the words' best matches without them.",
                },
                "constraints": {
                    "type": "object", "additionalProperties": {},
                    "description": "The constraints read from q, in the recommendations' shape.",
                },
                "en": {**strings, "description": "The constraints in plain English, with the words each came from."},
                "zh": {**strings, "description": "The constraints in plain Chinese."},
            },
        }
        return envelope


def understood_json(understood: Needs, *, applied: bool) -> dict[str, Any] | None:
    if understood.is_empty:
        return None
    return {
        "applied": applied,
        "constraints": understood.to_json(),
        "en": understood.describe("en", sources=True),
        "zh": understood.describe("zh", sources=True),
    }


class ProductListView(ListAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = ("products:read",)  # customers.models.PartnerScope (products knows no customers)
    serializer_class = ProductListItemOut
    filter_backends = [ProductFilterBackend]
    filterset_class = ProductFilter
    pagination_class = ProductPagination

    def get_queryset(self) -> QuerySet[Product]:
        return Product.objects.filter(is_active=True)

    @extend_schema(
        operation_id="products_list",
        summary="Active products: filtered and sorted, or searched with q",
        description=(
            "With `q`, a hybrid (semantic + full-text) search: at most the 100 best matches, in relevance "
            "order with their scores; the filters still apply and `ordering` is refused. The constraints q "
            "states (\"low-risk wealth management\", \"USD deposit for 3 years\") are applied as filters too and "
            "returned in `understood`; when no product meets them, the best matches of the words are returned "
            "with `understood.applied` false. `understand=false` ranks by the words alone. Without `q`, the "
            "filtered catalogue in the order asked for (by type and code by default)."
        ),
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search text, English or Chinese."),
            OpenApiParameter(
                "understand", OpenApiTypes.BOOL, default=True,
                description="With q: apply the constraints its words state as filters (returned in `understood`); "
                            "false ranks by the words alone.",
            ),
            # Stated here for the bounds, which the filter's own schema leaves out.
            OpenApiParameter(
                "risk_level_max",
                {"type": "integer", "minimum": 1, "maximum": 5},
                description="Highest risk level, 1 to 5.",
            ),
        ],
        responses={200: ProductListItemOut(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = ProductListQueryIn(data=request.query_params)
        if not query.is_valid():
            raise_first_error(query.errors)
        if "q" not in request.query_params:
            return self.list(request)
        text = query.validated_data["q"]
        if not text:
            raise InvalidParameter("q", "Give some text to search for, or leave q out.")
        return self._search(request, text, understand=query.validated_data["understand"])

    def _search(self, request: Request, text: str, *, understand: bool) -> Response:
        filterset = ProductFilter(request.query_params, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise_first_error(filterset.errors)
        filters = filterset.form.cleaned_data
        if filters.get("ordering"):
            raise InvalidParameter("ordering", "Search results are in relevance order; leave ordering out.")
        # Imported here: search loads the embedding model lazily, and a plain list must not pay for it.
        from products import search

        try:
            found = search.search_catalogue(
                query=text,
                types=filters.get("type") or None,
                max_risk=filters.get("risk_level_max"),
                limit=SEARCH_LIMIT,
                understand=understand,
            )
        except search.SearchError as error:
            raise InvalidParameter("q", str(error)) from None
        hits = found.hits
        # The search knows type and risk; the other filters (currency, term, amount) are applied by the same
        # FilterSet as the plain list, in one query, so both paths filter identically.
        allowed = set(
            filterset.qs.filter(pk__in=[hit.product.pk for hit in hits]).values_list("pk", flat=True)
        )
        kept = [hit for hit in hits if hit.product.pk in allowed]
        # DRF's paginators page any sequence; the stubs ask for a QuerySet.
        page: list[Product] | None = self.paginate_queryset(
            [hit.product for hit in kept]  # type: ignore[arg-type]
        )
        context = {**self.get_serializer_context(), "hits": {hit.product.pk: hit for hit in kept}}
        if isinstance(self.paginator, ProductPagination):
            self.paginator.understood = understood_json(found.understood, applied=found.applied)
        return self.get_paginated_response(ProductListItemOut(page, many=True, context=context).data)


class ProductDetailView(GenericAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = ("products:read",)  # customers.models.PartnerScope (products knows no customers)
    serializer_class = ProductDetailOut
    filter_backends: list[Any] = []
    # The queryset is for the schema (the type of {code}); withdrawn products are still readable by code:
    # customers keep holding them and must be able to read what they hold. The list shows only what is on
    # sale.
    queryset = Product.objects.all()
    lookup_field = "code"

    @extend_schema(
        operation_id="products_retrieve",
        summary="One product, by code",
        responses={200: ProductDetailOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_queryset().filter(code=kwargs["code"]).first()
        if product is None:
            raise NotFound("No product with this code.")
        return Response(self.get_serializer(product).data)
