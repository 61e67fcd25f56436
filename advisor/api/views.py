"""The recommendation API: a customer's recommendations (optionally for a need in their own words) and feedback.

Customers are resolved through customers.selectors, exactly like the customer API: someone the caller may not
see is a 404. Partners need `recommendations:read` to read and `feedback:write` to send feedback.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from advisor import services
from advisor.api.serializers import (
    FeedbackIn,
    FeedbackOut,
    RecommendationQueryIn,
    RecommendationSetOut,
)
from advisor.models import Channel, RecommendationSet
from bank.api.errors import InvalidParameter, raise_first_error, validated_query
from bank.api.idempotency import idempotent
from bank.api.schema import error_responses
from customers.api.views import PUBLIC_ID, CustomerScopedView
from customers.models import Channel as InteractionChannel
from customers.models import Customer, PartnerScope, PartnerToken
from products.models import Product

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (≤ 200 characters). A retry with the same key and body returns the first "
    "answer and records nothing new; the same key with another body is a 422.",
)


class ModelNotReady(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_not_ready"
    default_detail = "Recommendations are not available yet: no recommender model is active."


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


def _recommend(customer: Customer, *, k: int, query: str) -> Response:
    try:
        recommendation_set = services.current_recommendations(customer=customer, k=k, channel=Channel.API,
                                                              query=query)
    except services.NoActiveRecommender:
        raise ModelNotReady() from None
    except ValueError as error:
        raise InvalidParameter("q", str(error)) from None
    # The service hands the set over with its model version, items and their products attached: no re-read,
    # except the needs, which jsonb stores with its own key order -- the answer shows them as stored.
    if recommendation_set.needs:
        recommendation_set.refresh_from_db(fields=["needs"])
    return Response(RecommendationSetOut(recommendation_set).data)


class RecommendationsView(CustomerScopedView):
    required_scopes = (PartnerScope.RECOMMENDATIONS_READ,)

    @extend_schema(
        operation_id="customers_recommendations_list",
        summary="Products recommended for a customer, with reasons",
        description=(
            "Ranked by the active recommender, diversified, and filtered by the suitability gate: nothing above "
            "the customer's risk tolerance, nothing they are not eligible for, already hold (where one is "
            "enough) or cannot afford. Without `q` the answer is the customer's current list, the one the portal "
            "shows: the same list (same `id` and `created_at`) for a day (the bank's setting), unless the customer "
            "acts on a product, their circumstances or the catalogue change, or another model becomes active; every "
            "item is checked against the suitability gate again on each request. With `q`, a new list of only the "
            "products meeting the constraints read from it; `understood` shows them back. Partners need "
            "`recommendations:read` and the customer's consent."
        ),
        parameters=[
            PUBLIC_ID,
            OpenApiParameter("k", OpenApiTypes.INT, description="How many (1–50, default 10)."),
            OpenApiParameter("q", OpenApiTypes.STR, description="A need in the customer's words, e.g. "
                             "'low risk, about a year, better than a deposit' or '一年期低风险理财'."),
        ],
        responses={200: RecommendationSetOut, **error_responses(400, 401, 403, 404, 503)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        query = validated_query(RecommendationQueryIn, request.query_params)
        return _recommend(self.customer(), k=query["k"], query=query.get("q", ""))


class RecommendationQueryView(CustomerScopedView):
    required_scopes = (PartnerScope.RECOMMENDATIONS_READ,)

    @extend_schema(
        operation_id="customers_recommendations_query",
        summary="Recommendations for a need the customer typed",
        description="The same as GET …/recommendations/?q=…, for clients that send the text in a body.",
        parameters=[PUBLIC_ID],
        request=RecommendationQueryIn,
        responses={200: RecommendationSetOut, **error_responses(400, 401, 403, 404, 503)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        body = RecommendationQueryIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        if not body.validated_data.get("q"):
            raise InvalidParameter("q", "Say what you are looking for.")
        return _recommend(self.customer(), k=body.validated_data["k"], query=body.validated_data["q"])


class FeedbackView(CustomerScopedView):
    required_scopes = (PartnerScope.FEEDBACK_WRITE,)

    @extend_schema(
        operation_id="customers_recommendations_feedback",
        summary="Record that a customer saw, clicked, dismissed or bought a product",
        description=(
            "Feedback changes the customer's next recommendations at once (a dismissed product stays out for "
            "30 days) and feeds the next retrain. Only the customer themself or a partner with "
            "`feedback:write` and the customer's consent may send it; staff may not act as the customer."
        ),
        parameters=[PUBLIC_ID, IDEMPOTENCY_KEY],
        request=FeedbackIn,
        responses={201: FeedbackOut, 200: FeedbackOut, **error_responses(400, 401, 403, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.customer()
        if not isinstance(request.auth, PartnerToken) and customer.user_id != request.user.pk:
            raise PermissionDenied("Feedback is the customer's own: staff cannot send it for them.")
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 200:
            raise InvalidParameter("Idempotency-Key", "At most 200 characters.")
        body = FeedbackIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        data: dict[str, Any] = body.validated_data
        product = Product.objects.filter(code=data["product"]).first()
        if product is None:
            raise InvalidParameter("product", "No product has this code.")
        recommendation_set = None
        if "recommendation" in data:
            # Only this customer's own sets: another customer's set id is as unknown as a made-up one.
            recommendation_set = RecommendationSet.objects.filter(
                public_id=data["recommendation"], customer=customer
            ).first()
            if recommendation_set is None:
                raise InvalidParameter("recommendation", "No recommendation with this id for this customer.")
        try:
            result = services.record_feedback(
                customer=customer, product=product, event=data["event"], channel=InteractionChannel.APP,
                recommendation_set=recommendation_set, idempotency_key=key,
            )
        except services.IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        return Response(FeedbackOut(result).data, status=status.HTTP_201_CREATED if result.created else 200)
