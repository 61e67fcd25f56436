"""The risk API: a customer's credit score, reasons and grade; transaction ingestion with a synchronous monitoring
decision; alerts.

Customers are resolved through customers.selectors like everywhere else (someone the caller may not see is a
404, exactly like a made-up id). Partners need `risk:read` to read and `transactions:write` to ingest; ingestion
is for systems (partner tokens) only, and alerts are for partners and staff, never for the customer (an AML alert
must not tip them off).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bank.api.errors import InvalidParameter, raise_first_error, validated_query
from bank.api.idempotency import idempotent
from bank.api.permissions import HasScope
from bank.api.schema import error_responses
from customers.api.authentication import actor_from_request
from customers.api.views import PUBLIC_ID, CustomerScopedView
from customers.models import Customer, PartnerScope, PartnerToken
from customers.selectors import accounts_of, get_customer
from risk.api.serializers import AlertOut, AlertQueryIn, CustomerRiskOut, IngestionOut, TransactionIn
from risk.models import Alert
from risk.selectors import active_interventions, alerts_visible_to, latest_credit_score, risk_grade_of
from risk.services import monitoring
from risk.services.credit import NoActiveCreditModel, score_customer

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (≤ 200 characters). A retry with the same key and body returns the first "
    "answer and writes nothing; the same key with another body is a 422.",
)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class CustomerRiskView(CustomerScopedView):
    required_scopes = (PartnerScope.RISK_READ,)

    @extend_schema(
        operation_id="customers_risk_retrieve",
        summary="A customer's credit score with reason codes, risk grade and active interventions",
        description=(
            "The latest credit score (PD of the serving model, points, decision, the model version, the top reasons "
            "that lowered it in English and Chinese); the customer is scored now if they never were and a model is "
            "active. Partners need `risk:read` and the customer's consent."
        ),
        parameters=[PUBLIC_ID],
        responses={200: CustomerRiskOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        customer = self.customer()
        score = latest_credit_score(customer=customer)
        if score is None:
            try:
                score = score_customer(customer=customer)
            except NoActiveCreditModel:
                score = None
        body = {
            "customer": customer.public_id, "grade": risk_grade_of(customer=customer), "credit": score,
            "interventions": list(active_interventions(customer=customer)),
        }
        return Response(CustomerRiskOut(body).data)


class TransactionIngestView(GenericAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = (PartnerScope.TRANSACTIONS_WRITE,)
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        operation_id="risk_transactions_create",
        summary="Submit a transaction and get the monitoring decision (accept / review / block)",
        description=(
            "Runs the monitoring rules, the customer's restrictions and the anomaly model synchronously. accept and "
            "review post the transaction (review: an analyst looks at it; `step_up_required` asks the caller to "
            "verify the customer); block posts nothing. Any rule that fired raises an alert, whose reasons are "
            "returned. For partner systems with `transactions:write`, for customers who consented to them."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=TransactionIn,
        responses={201: IngestionOut, 200: IngestionOut, **error_responses(400, 401, 403, 404, 422)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, PartnerToken):
            raise PermissionDenied("Transactions are submitted by partner systems with an API token.")
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 200:
            raise InvalidParameter("Idempotency-Key", "At most 200 characters.")
        body = TransactionIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        data = body.validated_data
        try:
            customer = get_customer(actor=actor_from_request(request), public_id=data["customer"])
        except Customer.DoesNotExist:
            raise NotFound("No such customer.") from None
        account = accounts_of(customer=customer).filter(public_id=data["account"]).first()
        if account is None:
            raise InvalidParameter("account", "Not an open account of this customer.")
        try:
            result = monitoring.ingest_transaction(
                customer=customer, account=account, amount=data["amount"], currency=data["currency"],
                timestamp=data.get("timestamp"), category=data["category"],
                channel=data["channel"], counterparty=data["counterparty"], merchant=data["merchant"],
                description=data["description"], external_ref=data["external_ref"],
                caller=f"partner:{request.auth.partner_id}", idempotency_key=key,
            )
        except monitoring.IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        except monitoring.DuplicateExternalRef:
            raise InvalidParameter("external_ref", "A transaction with this external_ref already exists.") from None
        return Response({**result.body, "replayed": result.replayed}, status=result.status_code)


class AlertListView(GenericAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = (PartnerScope.RISK_READ,)
    staff_permissions = ("risk.view_alert",)  # bank.api.permissions.HasScope: alerts, not credit scores
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="risk_alerts_list",
        summary="Monitoring alerts on the caller's customers, newest first",
        description=(
            "A partner sees alerts of its own consenting customers only (and needs `risk:read`); staff see the "
            "customers their role allows. Not available to customers themselves."
        ),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Alert.Status.values),
            OpenApiParameter("min_severity", OpenApiTypes.INT, description="1 low … 4 critical."),
            OpenApiParameter("customer", OpenApiTypes.UUID, description="Only this customer."),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
        ],
        responses={200: AlertOut(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        if not isinstance(request.auth, PartnerToken) and not request.user.has_perm("risk.view_alert"):
            raise PermissionDenied("Alerts are for partners and risk staff.")
        query = validated_query(AlertQueryIn, request.query_params)
        rows = alerts_visible_to(actor=actor_from_request(request)).select_related("customer")
        if "status" in query:
            rows = rows.filter(status=query["status"])
        if "min_severity" in query:
            rows = rows.filter(severity__gte=query["min_severity"])
        if "customer" in query:
            rows = rows.filter(customer__public_id=query["customer"])
        if "since" in query:
            rows = rows.filter(created_at__gte=query["since"])
        page = self.paginate_queryset(rows.order_by("-created_at", "-id"))
        return self.get_paginated_response(AlertOut(page, many=True).data)
