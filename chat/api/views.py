"""The chat API: start a session, send messages (or confirm / cancel a pending action), read the transcript.

Who may chat for whom: a logged-in customer for themself; a partner with `chat:write` for a customer who
consented to it, and only in the sessions that partner started. Staff never chat as a customer (403). A
session the caller may not use is answered like one that does not exist (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bank.api.errors import InvalidParameter, raise_first_error
from bank.api.idempotency import idempotent
from bank.api.permissions import HasScope
from bank.api.schema import error_responses
from chat import services
from chat.api.serializers import MessageIn, ReplyOut, SessionDetailOut, SessionIn, SessionOut
from chat.models import ChatAction, Conversation
from customers.api.authentication import actor_from_request
from customers.models import Customer, PartnerScope, PartnerToken
from customers.selectors import customer_for_user, get_customer

SESSION_ID = OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The session id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (≤ 200 characters). A retry with the same key and text returns the first "
    "answer and runs nothing again; the same key with another text is a 422.",
)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different message."


def _channel(request: Request) -> str:
    return f"partner:{request.auth.partner_id}" if isinstance(request.auth, PartnerToken) else "api"


class ChatView(GenericAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes = (PartnerScope.CHAT_WRITE,)
    filter_backends: list[Any] = []
    pagination_class = None

    def _customer_for_new_session(self, requested: Any) -> Customer:
        request = self.request
        if isinstance(request.auth, PartnerToken):
            if requested is None:
                raise InvalidParameter("customer", "Partners name the customer the session is for.")
            try:
                return get_customer(actor=actor_from_request(request), public_id=requested)
            except Customer.DoesNotExist:
                raise NotFound("No such customer.") from None
        customer = customer_for_user(user=request.user)
        if customer is None:
            raise PermissionDenied("Only customers chat with the assistant; staff reply from the back office.")
        if requested is not None and str(requested) != str(customer.public_id):
            raise NotFound("No such customer.")
        return customer

    def session(self) -> Conversation:
        request = self.request
        try:
            key = uuid.UUID(str(self.kwargs["public_id"]))
        except ValueError:
            raise NotFound("No such session.") from None
        conversation = Conversation.objects.select_related("customer").filter(public_id=key).first()
        if conversation is None:
            raise NotFound("No such session.")
        if isinstance(request.auth, PartnerToken):
            # Partners see only the sessions they started, and only while the customer's consent stands.
            visible = (conversation.channel == _channel(request) and
                       get_customer_or_none(request, conversation.customer.public_id) is not None)
        else:
            visible = conversation.customer.user_id is not None and conversation.customer.user_id == request.user.pk
        if not visible:
            raise NotFound("No such session.")
        return conversation


def get_customer_or_none(request: Request, public_id: Any) -> Customer | None:
    try:
        return get_customer(actor=actor_from_request(request), public_id=public_id)
    except Customer.DoesNotExist:
        return None


class SessionsView(ChatView):
    @extend_schema(
        operation_id="chat_sessions_create",
        summary="Start a conversation with the assistant",
        description="Customers start one for themselves; partners (`chat:write`) for a consenting customer.",
        request=SessionIn,
        responses={201: SessionOut, **error_responses(400, 401, 403, 404)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = SessionIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        customer = self._customer_for_new_session(body.validated_data.get("customer"))
        conversation = services.start_conversation(customer=customer, channel=_channel(request),
                                                   language=body.validated_data.get("language", ""))
        return Response(SessionOut(conversation).data, status=status.HTTP_201_CREATED)


class SessionView(ChatView):
    @extend_schema(
        operation_id="chat_sessions_retrieve",
        summary="A conversation and its transcript (masked)",
        parameters=[SESSION_ID],
        responses={200: SessionDetailOut, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, public_id: str) -> Response:
        conversation = self.session()
        return Response(SessionDetailOut(conversation).data)


class MessagesView(ChatView):
    @extend_schema(
        operation_id="chat_messages_create",
        summary="Say something to the assistant, or confirm / cancel a pending action",
        description=(
            "Returns the reply with the intent read, its confidence, the sources cited and any action now "
            "waiting for confirmation. An action that changes an account runs only after `confirm` (or the "
            "text 'yes'), and only once."
        ),
        parameters=[SESSION_ID, IDEMPOTENCY_KEY],
        request=MessageIn,
        responses={200: ReplyOut, **error_responses(400, 401, 403, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        conversation = self.session()
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 200:
            raise InvalidParameter("Idempotency-Key", "At most 200 characters.")
        body = MessageIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        data = body.validated_data
        text = data.get("text", "")
        action_id = data.get("confirm") or data.get("cancel")
        if action_id is not None:
            action = conversation.actions.filter(public_id=action_id).first()
            if action is None or action.status != ChatAction.Status.PROPOSED:
                raise InvalidParameter("confirm" if data.get("confirm") else "cancel",
                                       "No action with this id is waiting for confirmation in this session.")
            text = ("确认" if conversation.language == "zh" else "yes") if data.get("confirm") else \
                ("取消" if conversation.language == "zh" else "no")
        try:
            exchange = services.send_message(conversation=conversation, text=text, actor=request.user,
                                             channel=_channel(request), idempotency_key=key)
        except services.IdempotencyConflict as error:
            raise IdempotencyKeyReused(str(error)) from None
        except services.ChatError as error:
            raise InvalidParameter("text", str(error)) from None
        # The turn's own copy of the conversation (read under its lock; for a replay, the one just read) is
        # current: nothing to read again.
        conversation = exchange.conversation
        language = conversation.language
        action = exchange.action if exchange.action is not None and exchange.action.status == \
            ChatAction.Status.PROPOSED else None
        if action is not None:
            action.refresh_from_db()
            action = action if action.status == ChatAction.Status.PROPOSED else None
        handoff = exchange.handoff
        if handoff is None and conversation.status == Conversation.Status.HANDED_OFF:
            # Opened by an earlier turn (a hand-off is resolved only together with the conversation's reopening).
            handoff = conversation.handoffs.exclude(status="resolved").first()
        return Response(ReplyOut({
            "message_id": exchange.answer.pk, "reply": exchange.answer.text, "intent": exchange.answer.intent,
            "confidence": exchange.answer.confidence, "answer_mode": exchange.answer.answer_mode,
            "citations": exchange.answer.citations, "pending_confirmation": action, "handoff": handoff,
            "suggestions": exchange.suggestions, "conversation_status": conversation.status,
            "replayed": exchange.replayed,
        }, context={"language": language}).data)
