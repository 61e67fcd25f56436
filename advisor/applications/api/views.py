"""The applications API: a customer's applications, submitting one (with Idempotency-Key), withdrawing it and
taking up an approved offer.

Customers are resolved through customers.selectors like every customer route, and an application through its
customer: someone else's (or a made-up id) is a 404. Partners need `applications:read` to read and
`applications:write` (and the customer's consent) to act; staff read here and decide in the back office. Bad
input is a 400 with a code and writes nothing; a move the application's state does not allow is a 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from advisor.applications import services
from advisor.applications.api.serializers import ApplicationIn, ApplicationOut, ApplicationSubmitOut
from advisor.applications.models import Application, ApplicationSource
from bank.api.errors import InvalidParameter, raise_first_error
from bank.api.idempotency import idempotent
from bank.api.schema import error_responses
from customers.api.views import PUBLIC_ID, CustomerScopedView
from customers.models import Customer, PartnerScope, PartnerToken
from products.models import Product

if TYPE_CHECKING:
    # The stubs' name for what get_permissions returns (permission objects with has_permission).
    from rest_framework.permissions import _SupportsHasPermission

APPLICATION_ID = OpenApiParameter("application_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                  description="The application's id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (≤ 200 characters). A retry with the same key and body returns the first "
    "application (200, replayed true) and writes nothing; the same key with another body is a 422.",
)


class ApplicationRefused(APIException):
    """A service said no: 400 for bad input, 409 for a move the state does not allow."""

    def __init__(self, error: services.ApplicationError) -> None:
        self.status_code = error.status
        super().__init__(detail=str(error), code=error.code)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class _ApplicationsView(CustomerScopedView):
    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        self.required_scopes = ((PartnerScope.APPLICATIONS_READ,) if self.request.method == "GET"
                                else (PartnerScope.APPLICATIONS_WRITE,))
        return super().get_permissions()

    def acting_customer(self) -> Customer:
        """The customer, when the caller may act for them: the customer themself or a consented partner."""
        customer = self.customer()
        if not isinstance(self.request.auth, PartnerToken) and customer.user_id != self.request.user.pk:
            raise PermissionDenied("Only the customer (or a partner they consented to) may do this; staff use "
                                   "the back office.")
        return customer

    def actor_label(self) -> str:
        if isinstance(self.request.auth, PartnerToken):
            return f"partner:{self.request.auth.partner.name}"
        return "customer"

    def application(self, customer: Customer) -> Application:
        try:
            return (Application.objects.select_related("product").prefetch_related("events")
                    .get(customer=customer, public_id=self.kwargs["application_id"]))
        except (Application.DoesNotExist, ValueError, TypeError, DjangoValidationError):
            # A malformed id is Django's ValidationError from the UUID field, not a ValueError (was a 500).
            raise NotFound("No such application.") from None


class ApplicationListView(_ApplicationsView):
    @extend_schema(operation_id="customers_applications_list", summary="A customer's applications, newest first",
                   parameters=[PUBLIC_ID], responses={200: ApplicationOut(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, public_id: str) -> Response:
        rows = (Application.objects.filter(customer=self.customer()).select_related("product")
                .prefetch_related("events").order_by("-created_at", "-id")[:100])
        return Response(ApplicationOut(rows, many=True).data)

    @extend_schema(
        operation_id="customers_applications_create", summary="Apply for a product",
        description="Submits an application, optionally with the customer's reason in free text, which is read "
                    "into needs. The checks (identity, suitability, credit, affordability, needs fit) run in the "
                    "background: the answer is `submitted`; poll the application for the outcome (approved, "
                    "declined or referred to a person), always with reasons. 409 application_in_progress when "
                    "one for the product is open.",
        parameters=[PUBLIC_ID, IDEMPOTENCY_KEY], request=ApplicationIn,
        responses={201: ApplicationSubmitOut, 200: ApplicationSubmitOut,
                   **error_responses(400, 401, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.acting_customer()
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 200:
            raise InvalidParameter("Idempotency-Key", "At most 200 characters.")
        body = ApplicationIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        data = body.validated_data
        product = Product.objects.filter(code=data["product"]).first()
        if product is None:
            raise InvalidParameter("product", "No product has this code.")
        partner = request.auth if isinstance(request.auth, PartnerToken) else None
        caller = f"partner:{partner.partner_id}" if partner else f"user:{request.user.pk}"
        try:
            result = services.submit_application(
                customer=customer, product=product, source=ApplicationSource.API, actor_label=self.actor_label(),
                actor_user=None if partner else request.user, reason_text=data["reason"],
                requested_amount=data["amount"], language=getattr(request, "LANGUAGE_CODE", "en") or "en",
                idempotency_key=key, caller=caller,
            )
        except services.IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        except services.ApplicationError as error:
            raise ApplicationRefused(error) from None
        app = Application.objects.prefetch_related("events").select_related("product").get(pk=result.application.pk)
        return Response(ApplicationSubmitOut(app, context={"replayed": not result.created}).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ApplicationDetailView(_ApplicationsView):
    @extend_schema(operation_id="customers_applications_retrieve",
                   summary="One application: state, needs understood, every check and the trail",
                   parameters=[PUBLIC_ID, APPLICATION_ID],
                   responses={200: ApplicationOut, **error_responses(401, 403, 404)})
    def get(self, request: Request, public_id: str, application_id: str) -> Response:
        return Response(ApplicationOut(self.application(self.customer())).data)


class _ApplicationActionView(_ApplicationsView):
    def act(self, application: Application) -> Application:
        raise NotImplementedError

    def post(self, request: Request, public_id: str, application_id: str) -> Response:
        app = self.application(self.acting_customer())
        try:
            app = self.act(app)
        except services.ApplicationError as error:
            raise ApplicationRefused(error) from None
        return Response(ApplicationOut(self.application(app.customer)).data)


class ApplicationWithdrawView(_ApplicationActionView):
    def act(self, application: Application) -> Application:
        return services.withdraw_application(application=application, actor_label=self.actor_label(),
                                             actor_user=self.request.user)

    @extend_schema(operation_id="customers_applications_withdraw", summary="Withdraw an application",
                   description="Possible until the application is final (declined, activated, withdrawn, expired).",
                   parameters=[PUBLIC_ID, APPLICATION_ID], request=None,
                   responses={200: ApplicationOut, **error_responses(401, 403, 404, 409)})
    @idempotent
    def post(self, request: Request, public_id: str, application_id: str) -> Response:
        return super().post(request, public_id, application_id)


class ApplicationActivateView(_ApplicationActionView):
    def act(self, application: Application) -> Application:
        return services.activate_application(application=application, actor_label=self.actor_label(),
                                             actor_user=self.request.user)

    @extend_schema(operation_id="customers_applications_activate", summary="Take up an approved offer",
                   description="Opens the product: a card with the decided limit, a loan paid out to the current "
                               "account, or a holding funded from the current or savings account. 409 when not "
                               "approved or the offer expired; 400 when the money is not there.",
                   parameters=[PUBLIC_ID, APPLICATION_ID], request=None,
                   responses={200: ApplicationOut, **error_responses(400, 401, 403, 404, 409)})
    @idempotent
    def post(self, request: Request, public_id: str, application_id: str) -> Response:
        return super().post(request, public_id, application_id)
