"""Back office for the assistant: the hand-off inbox (support agents reply into the conversation), the
conversations, the knowledge base staff edit, and the actions the assistant carried out."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bank.tasks import enqueue
from chat.models import ChatAction, Conversation, Handoff, KnowledgeArticle, Message
from chat.services import ChatError, reply_as_agent, resolve_handoff
from customers.selectors import Actor, visible_customers


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def transcript(conversation: Conversation) -> str:
    rows = conversation.messages.select_related("author").order_by("created_at", "id")
    return format_html(
        "<div class='chat-transcript'>{}</div>",
        format_html_join(
            "", "<p style='margin:.3rem 0'><strong>{}</strong> <span class='quiet'>{} {}</span><br>{}</p>",
            ((_who(m), f"{m.created_at:%Y-%m-%d %H:%M}", f"· {m.intent} {m.confidence:.2f}" if m.confidence else "",
              m.text) for m in rows),
        ),
    )


def _who(message: Message) -> str:
    if message.role == Message.Role.AGENT and message.author is not None:
        return f"{message.get_role_display()} ({message.author.get_username()})"
    return str(message.get_role_display())


class HandoffForm(forms.ModelForm):
    reply = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), required=False,
                            label=_("Reply to the customer"),
                            help_text=_("Sent into the customer's conversation (masked like every message)."))
    resolve = forms.BooleanField(required=False, label=_("Resolved: give the conversation back to the assistant"))

    class Meta:
        model = Handoff
        fields = ["reply", "resolve"]


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """The inbox: open hand-offs first, oldest first. An agent replies from the hand-off's page."""

    form = HandoffForm
    list_display = ["created_at", "customer", "reason", "intent", "status", "assigned_to", "waiting"]
    list_filter = ["status", "reason", "customer__segment"]
    search_fields = ["customer__external_ref", "summary", "intent"]
    list_select_related = ["customer", "assigned_to"]
    readonly_fields = ["customer", "reason", "intent", "slots", "status", "assigned_to", "created_at", "resolved_at",
                       "conversation_transcript"]
    fieldsets = [
        (None, {"fields": ["customer", "reason", "intent", "slots", "status", "assigned_to", "created_at",
                           "resolved_at"]}),
        (_("Conversation"), {"fields": ["conversation_transcript"]}),
        (_("Answer"), {"fields": ["reply", "resolve"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Handoff]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Waiting"))
    def waiting(self, obj: Handoff) -> str:
        if obj.status == Handoff.Status.RESOLVED:
            return "—"
        from django.utils.timesince import timesince

        return timesince(obj.created_at)

    @admin.display(description=_("Conversation"))
    def conversation_transcript(self, obj: Handoff) -> str:
        return transcript(obj.conversation)

    def save_model(self, request: HttpRequest, obj: Handoff, form: Any, change: bool) -> None:
        # Nothing on the hand-off is edited directly: a reply and a resolution go through the services.
        text = form.cleaned_data.get("reply", "")
        if text:
            try:
                reply_as_agent(handoff=obj, agent=request.user, text=text)
            except ChatError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Your reply is in the customer's conversation."))
        if form.cleaned_data.get("resolve"):
            resolve_handoff(handoff=obj, agent=request.user)


# Records shown in full and read-only: each tuple is both `fields` and `readonly_fields`. Tuples, because
# `fields` is declared as a list or tuple of field groups, and a list[str] is not one (lists are invariant).
MESSAGE_FIELDS = ("created_at", "role", "text", "intent", "confidence", "answer_mode", "citations", "sentiment")
CONVERSATION_FIELDS = ("public_id", "customer", "channel", "language", "status", "state", "created_at", "updated_at")
CHAT_ACTION_FIELDS = ("public_id", "conversation", "customer", "kind", "params", "summary_en", "summary_zh", "status",
                      "result", "created_at", "expires_at", "decided_at")


class MessageInline(ReadOnly, admin.TabularInline):
    model = Message
    fields = MESSAGE_FIELDS
    readonly_fields = MESSAGE_FIELDS
    extra = 0
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["updated_at", "customer", "channel", "language", "status", "messages_count"]
    list_filter = ["status", "language", "channel", "customer__segment"]
    search_fields = ["customer__external_ref", "messages__text"]
    date_hierarchy = "updated_at"
    list_select_related = ["customer"]
    fields = CONVERSATION_FIELDS
    readonly_fields = CONVERSATION_FIELDS
    inlines = [MessageInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj)

    @admin.display(description=_("Messages"))
    def messages_count(self, obj: Conversation) -> int:
        return obj.messages.count()


@admin.register(ChatAction)
class ChatActionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "customer", "kind", "summary_en", "status", "decided_at"]
    list_filter = ["kind", "status"]
    search_fields = ["customer__external_ref", "summary_en"]
    list_select_related = ["customer"]
    fields = CHAT_ACTION_FIELDS
    readonly_fields = CHAT_ACTION_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatAction]:
        return super().get_queryset(request).filter(customer__in=visible_customers(actor=Actor(user=request.user)))


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["slug", "title_en", "title_zh", "intent_list", "is_published", "indexed", "updated_at"]
    list_filter = ["is_published", "tags"]
    search_fields = ["slug", "title_en", "title_zh", "body_en", "body_zh", "intents"]
    fieldsets = [
        (None, {"fields": ["slug", "is_published", "intents", "tags"]}),
        ("English", {"fields": ["title_en", "body_en"]}),
        ("中文", {"fields": ["title_zh", "body_zh"]}),
        (_("Index"), {"fields": ["passages_view"]}),
    ]
    readonly_fields = ["passages_view"]

    @admin.display(description=_("Intents"))
    def intent_list(self, obj: KnowledgeArticle) -> str:
        return ", ".join(obj.intents[:4]) + (" …" if len(obj.intents) > 4 else "")

    @admin.display(description=_("Indexed"), boolean=True)
    def indexed(self, obj: KnowledgeArticle) -> bool:
        return bool(obj.indexed_hash) or not obj.is_published

    @admin.display(description=_("Passages the assistant retrieves"))
    def passages_view(self, obj: KnowledgeArticle) -> str:
        if obj.pk is None:
            return "—"
        return format_html_join("", "<p><span class='quiet'>[{} {}]</span> {}</p>",
                                ((p.language, p.position, p.text) for p in obj.passages.order_by("language",
                                                                                                  "position")))

    def save_model(self, request: HttpRequest, obj: KnowledgeArticle, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Passages follow the text: the ML worker re-splits and re-embeds this article after the commit.
        enqueue("chat.tasks.index_articles_task", [obj.pk], ml=True)
        messages.info(request, format_html(
            str(_("The assistant will answer from the new text in a moment (<a href='{}'>see the article</a>).")),
            reverse("portal:help_article", args=[obj.slug])))
