"""Input and output shapes of the chat API (no database writes here)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat.models import ChatAction, Conversation, Handoff, Language, Message
from chat.services import MAX_MESSAGE_LENGTH


class SessionIn(serializers.Serializer):
    customer = serializers.UUIDField(required=False, help_text="The customer (partners); customers omit it.")
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class MessageIn(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_MESSAGE_LENGTH, required=False, trim_whitespace=True,
                                 allow_blank=False)
    confirm = serializers.UUIDField(required=False, help_text="Confirm the pending action with this id.")
    cancel = serializers.UUIDField(required=False, help_text="Cancel the pending action with this id.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("text", "confirm", "cancel") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError("Send exactly one of text, confirm or cancel.")
        return attrs


class CitationOut(serializers.Serializer):
    type = serializers.CharField(help_text="article, product, accounts or transactions")
    id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()


class PendingOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    summary = serializers.SerializerMethodField()

    class Meta:
        model = ChatAction
        fields = ["id", "kind", "summary", "expires_at"]

    def get_summary(self, obj: ChatAction) -> str:
        return obj.summary(self.context.get("language", "en"))


class HandoffOut(serializers.ModelSerializer):
    class Meta:
        model = Handoff
        fields = ["status", "reason", "created_at"]


class TranscriptMessageOut(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "role", "text", "intent", "confidence", "citations", "created_at"]


class SessionOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    customer = serializers.UUIDField(source="customer.public_id")

    class Meta:
        model = Conversation
        fields = ["id", "customer", "status", "language", "created_at", "updated_at"]


class SessionDetailOut(SessionOut):
    messages = TranscriptMessageOut(many=True)

    class Meta(SessionOut.Meta):
        fields = [*SessionOut.Meta.fields, "messages"]


class ReplyOut(serializers.Serializer):
    message_id = serializers.IntegerField(help_text="The assistant's message.")
    reply = serializers.CharField()
    intent = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)
    answer_mode = serializers.CharField(help_text="generated:<model>, extractive, data, advisor, action, template…")
    citations = CitationOut(many=True)
    pending_confirmation = PendingOut(allow_null=True)
    handoff = HandoffOut(allow_null=True)
    suggestions = serializers.ListField(child=serializers.CharField())
    conversation_status = serializers.CharField()
    replayed = serializers.BooleanField(help_text="True when an Idempotency-Key retry returned the first answer.")
