"""Output and input shapes of the messages API (no database writes here)."""

from __future__ import annotations

from rest_framework import serializers

from advisor.engagement.models import Message


class MessageProductOut(serializers.Serializer):
    code = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    type = serializers.CharField()


class MessageOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    campaign = serializers.CharField(source="campaign.code", read_only=True)
    product = MessageProductOut(allow_null=True, read_only=True)
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "campaign", "language", "subject", "body", "product", "marketing", "delivered_at",
                  "opened_at", "clicked_at", "unread"]
        read_only_fields = fields

    def get_unread(self, obj: Message) -> bool:
        return obj.opened_at is None


class InboxOut(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Delivered messages not opened yet.")
    results = MessageOut(many=True)


class InboxQueryIn(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread messages.")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)


class MessageActionOut(serializers.Serializer):
    message = MessageOut()
    target = serializers.CharField(help_text="Where the message's link goes (a portal path).")
    replayed = serializers.BooleanField(help_text="True when this answers a repeated Idempotency-Key.")
