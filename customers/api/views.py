"""The customer API: a customer's profile, accounts, transactions and holdings.

Every customer is reached through customers.selectors with the request's Actor, so the rule of who sees whom
lives in one place. A customer the actor may not see is answered exactly like one that does not exist (404),
so an id never reveals that a customer exists; a partner token without the endpoint's scope gets 403
(HasScope), which depends only on the token and so reveals nothing either.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import BasePagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bank import audit
from bank.api.errors import InvalidParameter, validated_query
from bank.api.permissions import HasScope
from bank.api.schema import error_responses
from customers.api.authentication import actor_from_request
from customers.api.filters import CustomerFilter, StrictFilterBackend
from customers.api.permissions import IsPortalUser
from customers.api.serializers import (
    AccountOut,
    CustomerListItemOut,
    CustomerOut,
    HoldingOut,
    TransactionOut,
    TransactionQueryIn,
)
from customers.models import Customer, PartnerScope, SpendingCategory
from customers.selectors import (
    accounts_of,
    customer_for_user,
    get_customer,
    holdings_of,
    latest_profile,
    transactions_of,
    visible_customers,
)

PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The customer's public id."
)
TRANSACTION_QUERY = [
    OpenApiParameter("account", OpenApiTypes.UUID, description="Only this account (one of the customer's)."),
    OpenApiParameter("category", OpenApiTypes.STR, enum=SpendingCategory.values),
    OpenApiParameter("since", OpenApiTypes.DATE, description="First day included (bank's local time)."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last day included (bank's local time)."),
]


def profile_response(customer: Customer) -> Response:
    data = CustomerOut(customer, context={"latest_profile": latest_profile(customer=customer)}).data
    return Response(data)


class CustomerScopedView(GenericAPIView):
    """A route under customers/{public_id}/: resolves the customer for the actor or answers 404."""

    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: tuple[str, ...] = ()
    filter_backends: list[Any] = []
    pagination_class: type[BasePagination] | None = None

    # What this route reads, as the audit trail names it (profile, accounts, transactions, holdings); routes that
    # leave it empty record their own events (writes) or none.
    audited_as = ""

    def customer(self) -> Customer:
        try:
            customer = get_customer(actor=actor_from_request(self.request), public_id=self.kwargs["public_id"])
        except Customer.DoesNotExist:
            raise NotFound("No such customer.") from None
        # A partner's or a member of staff's read of someone's personal data is on the trail; a customer reading
        # their own is not.
        user = self.request.user
        if self.audited_as and (customer.user_id is None or getattr(user, "pk", None) != customer.user_id):
            audit.record(action="customer.api_read", actor=user, channel="api",
                         subject=f"customer:{customer.public_id}", customer_ref=customer.external_ref,
                         detail={"read": self.audited_as, "path": self.request.path})
        return customer


class CustomerListView(ListAPIView):
    """The customers the caller may see (a customer: themself; a partner: consenting customers; staff: their
    book), optionally only those in one segment."""

    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = (PartnerScope.PROFILE_READ,)
    serializer_class = CustomerListItemOut
    filter_backends = [StrictFilterBackend]
    filterset_class = CustomerFilter

    def get_queryset(self) -> Any:
        customers = visible_customers(actor=actor_from_request(self.request))
        return customers.select_related("segment").order_by("external_ref", "pk")

    @extend_schema(
        operation_id="customers_list",
        summary="The customers the caller may see, optionally one segment's",
        description="Partners need the `profile:read` scope and see only customers who consented to them. "
        "`segment` takes a segment code; an unknown code is a 400.",
        responses={200: CustomerListItemOut(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class MyProfileView(GenericAPIView):
    permission_classes = [IsAuthenticated, IsPortalUser]
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        operation_id="customers_me",
        summary="The logged-in customer's own profile",
        responses={200: CustomerOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        customer = customer_for_user(user=request.user)
        if customer is None:
            raise NotFound("No customer record belongs to this user.")
        return profile_response(customer)


class CustomerProfileView(CustomerScopedView):
    audited_as = "profile"
    required_scopes = (PartnerScope.PROFILE_READ,)

    @extend_schema(
        operation_id="customers_retrieve",
        summary="A customer's profile and latest computed profile snapshot",
        description="Partners need the `profile:read` scope and the customer's consent.",
        parameters=[PUBLIC_ID],
        responses={200: CustomerOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        return profile_response(self.customer())


class CustomerAccountsView(CustomerScopedView):
    audited_as = "accounts"
    required_scopes = (PartnerScope.ACCOUNTS_READ,)

    @extend_schema(
        operation_id="customers_accounts_list",
        summary="A customer's open accounts",
        description="Partners need the `accounts:read` scope and the customer's consent.",
        parameters=[PUBLIC_ID],
        responses={200: AccountOut(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        return Response(AccountOut(accounts_of(customer=self.customer()), many=True).data)


class CustomerTransactionsView(CustomerScopedView):
    audited_as = "transactions"
    required_scopes = (PartnerScope.TRANSACTIONS_READ,)
    pagination_class = GenericAPIView.pagination_class

    @extend_schema(
        operation_id="customers_transactions_list",
        summary="A customer's transactions, newest first",
        description="Partners need the `transactions:read` scope and the customer's consent.",
        parameters=[PUBLIC_ID, *TRANSACTION_QUERY],
        responses={200: TransactionOut(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        query = validated_query(TransactionQueryIn, request.query_params)
        customer = self.customer()
        account = None
        if "account" in query:
            # Looked up among this customer's own accounts only: another customer's account id is as unknown
            # as a made-up one.
            account = accounts_of(customer=customer).filter(public_id=query["account"]).first()
            if account is None:
                raise InvalidParameter("account", "Not an account of this customer.")
        rows = transactions_of(customer=customer, account=account, category=query.get("category"))
        zone = timezone.get_current_timezone()
        if "since" in query:
            rows = rows.filter(timestamp__gte=datetime.combine(query["since"], time.min, tzinfo=zone))
        if "until" in query:
            rows = rows.filter(
                timestamp__lt=datetime.combine(query["until"] + timedelta(days=1), time.min, tzinfo=zone)
            )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(TransactionOut(page, many=True).data)


class CustomerHoldingsView(CustomerScopedView):
    audited_as = "holdings"
    required_scopes = (PartnerScope.ACCOUNTS_READ,)
    staff_permissions = ("customers.view_holding",)  # bank.api.permissions.HasScope: not every role sees holdings

    @extend_schema(
        operation_id="customers_holdings_list",
        summary="A customer's active product holdings",
        description="Partners need the `accounts:read` scope and the customer's consent.",
        parameters=[PUBLIC_ID],
        responses={200: HoldingOut(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        rows = holdings_of(customer=self.customer()).select_related("account")
        return Response(HoldingOut(rows, many=True).data)
