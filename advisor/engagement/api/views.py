"""The messages API: a customer's inbox, one message, and recording that it was opened or its link clicked.

Customers are resolved through customers.selectors like every customer route (someone the caller may not see is
a 404); a message is looked up among that customer's delivered messages only, so another customer's message id
is a 404 too and nothing is written. Partners need `messages:read` to read and `messages:write` (and the
customer's consent) to record opens and clicks; staff may read but not act as the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from advisor.api.views import IDEMPOTENCY_KEY, IdempotencyKeyReused
from advisor.engagement import selectors, services
from advisor.engagement.api.serializers import InboxOut, InboxQueryIn, MessageActionOut, MessageOut
from advisor.engagement.models import Message
from bank.api.errors import InvalidParameter, validated_query
from bank.api.idempotency import idempotent
from bank.api.schema import error_responses
from customers.api.views import PUBLIC_ID, CustomerScopedView
from customers.models import Channel as InteractionChannel
from customers.models import PartnerScope, PartnerToken

if TYPE_CHECKING:
    # The stubs' name for what get_permissions returns (permission objects with has_permission).
    from rest_framework.permissions import _SupportsHasPermission

MESSAGE_ID = OpenApiParameter("message_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description="The message's id.")


class _MessageView(CustomerScopedView):
    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        self.required_scopes = ((PartnerScope.MESSAGES_READ,) if self.request.method == "GET"
                                else (PartnerScope.MESSAGES_WRITE,))
        return super().get_permissions()

    def message(self) -> Message:
        customer = self.customer()
        try:
            return selectors.message_of(customer=customer, public_id=self.kwargs["message_id"])
        except Message.DoesNotExist:
            raise NotFound("No such message.") from None


class InboxView(_MessageView):
    @extend_schema(
        operation_id="customers_messages_list", summary="A customer's inbox, newest first",
        description="Delivered messages only (never the ones held back by consent, the frequency cap or quiet "
                    "hours), with the unread count. Partners need `messages:read` and the customer's consent.",
        parameters=[PUBLIC_ID, OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread messages."),
                    OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (1–200, 50).")],
        responses={200: InboxOut, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        query = validated_query(InboxQueryIn, request.query_params)
        customer = self.customer()
        rows = selectors.inbox_of(customer=customer)
        if query["unread"]:
            rows = rows.filter(opened_at__isnull=True)
        body = {"unread": selectors.unread_count(customer=customer), "results": rows[:query["limit"]]}
        return Response(InboxOut(body).data)


class MessageDetailView(_MessageView):
    @extend_schema(
        operation_id="customers_messages_retrieve", summary="One message of the customer's inbox",
        description="Reading it here does not mark it opened (POST …/open/ does).",
        parameters=[PUBLIC_ID, MESSAGE_ID], responses={200: MessageOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str, message_id: str) -> Response:
        return Response(MessageOut(self.message()).data)


class _ActionView(_MessageView):
    action_name = ""

    def act(self, request: Request) -> Response:
        message = self.message()
        if not isinstance(request.auth, PartnerToken) and message.customer.user_id != request.user.pk:
            raise PermissionDenied("Only the customer (or a partner they consented to) may do this.")
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 200:
            raise InvalidParameter("Idempotency-Key", "At most 200 characters.")
        action = services.mark_opened if self.action_name == "open" else services.record_click
        try:
            result = action(message=message, channel=InteractionChannel.APP, idempotency_key=key)
        except services.IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        body = {"message": result.message, "target": result.target, "replayed": not result.created}
        return Response(MessageActionOut(body).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class MessageOpenView(_ActionView):
    action_name = "open"

    @extend_schema(
        operation_id="customers_messages_open", summary="Record that the customer opened a message",
        description="The first open sets opened_at and tells the recommender the product was seen. With an "
                    "Idempotency-Key, a retry returns the first answer and records nothing new.",
        parameters=[PUBLIC_ID, MESSAGE_ID, IDEMPOTENCY_KEY], request=None,
        responses={201: MessageActionOut, 200: MessageActionOut, **error_responses(400, 401, 403, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, public_id: str, message_id: str) -> Response:
        return self.act(request)


class MessageClickView(_ActionView):
    action_name = "click"

    @extend_schema(
        operation_id="customers_messages_click", summary="Record a click on a message's link",
        description="Records the click (and a click on the product for the recommender's feedback loop) and "
                    "returns where the link goes. With an Idempotency-Key, a retry records nothing new.",
        parameters=[PUBLIC_ID, MESSAGE_ID, IDEMPOTENCY_KEY], request=None,
        responses={201: MessageActionOut, 200: MessageActionOut, **error_responses(400, 401, 403, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, public_id: str, message_id: str) -> Response:
        return self.act(request)
