"""Portal pages of the assistant: the chat (a plain form that works without JavaScript; chat.js sends the same
form through the API and draws the answer in place) and the help centre the assistant cites.

The conversation is always the logged-in customer's own; a post is followed by a redirect, so a reload never
sends a message twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from chat import services
from chat.models import ChatAction, Conversation, KnowledgeArticle
from customers.models import Customer
from customers.selectors import customer_for_user

RECENT_MESSAGES = 40


class MessageForm(forms.Form):
    text = forms.CharField(max_length=services.MAX_MESSAGE_LENGTH, strip=True, label=_("Your message"))


def _customer(request: HttpRequest) -> Customer | HttpResponse:
    customer = customer_for_user(user=request.user)
    if customer is not None:
        return customer
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "portal/no_customer.html", status=403)


def _current(customer: Customer, language: str) -> Conversation:
    conversation = (Conversation.objects.filter(customer=customer, channel="portal")
                    .exclude(status=Conversation.Status.CLOSED).order_by("-updated_at").first())
    return conversation or services.start_conversation(customer=customer, channel="portal", language=language)


@login_required
@require_http_methods(["GET", "POST"])
def chat(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    language = "zh" if (get_language() or "").startswith("zh") else "en"
    if request.method == "POST" and request.POST.get("new"):
        services.start_conversation(customer=customer, channel="portal", language=language)
        return redirect("portal:chat")
    conversation = _current(customer, language)
    form = MessageForm(request.POST or None)
    if request.method == "POST":
        text = _pending_answer(request, conversation)
        if text is None and form.is_valid():
            text = form.cleaned_data["text"]
        if text:
            try:
                services.send_message(conversation=conversation, text=text, actor=request.user, channel="portal",
                                      idempotency_key=request.POST.get("nonce", ""))
            except services.IdempotencyConflict:
                pass  # the same form posted twice: the first answer stands
            except services.ChatError as error:
                messages.error(request, str(error))
        return redirect("portal:chat")
    pending = conversation.actions.filter(status=ChatAction.Status.PROPOSED).order_by("-created_at").first()
    history = list(conversation.messages.order_by("-created_at", "-id")[:RECENT_MESSAGES])[::-1]
    return render(request, "portal/chat.html", {
        "conversation": conversation, "history": history, "form": MessageForm(), "pending": pending,
        "pending_summary": pending.summary(language) if pending else "", "nonce": uuid.uuid4().hex,
        "handoff": conversation.handoffs.exclude(status="resolved").first(),
    })


def _pending_answer(request: HttpRequest, conversation: Conversation) -> str | None:
    """The confirm / cancel buttons of a pending action, as the words the assistant understands."""
    decision = request.POST.get("decision")
    if decision not in ("confirm", "cancel"):
        return None
    zh = conversation.language == "zh"
    if decision == "confirm":
        return "确认" if zh else "yes"
    return "取消" if zh else "no"


@require_GET
def help_centre(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:200]
    articles = KnowledgeArticle.objects.filter(is_published=True)
    hits: list[Any] = []
    if query:
        from chat.knowledge import retrieve
        from chat.ml.intents import clarify_below
        from chat.ml.scoring import IntentModelUnavailable, classify

        # The help centre understands a question the way the assistant does: the intent read from it, when
        # the model is sure enough, brings the article written for that intent forward.
        intent = None
        try:
            prediction = classify(query).prediction
            if prediction.confidence >= clarify_below(query):
                intent = prediction.intent
        except IntentModelUnavailable:
            pass
        hits = retrieve(query, intent=intent, limit=8)
    else:
        articles = articles.order_by("title_en")
    return render(request, "portal/help.html", {"articles": articles, "query": query, "hits": hits})


@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = KnowledgeArticle.objects.filter(Q(slug=slug), is_published=True).first()
    if article is None:
        raise Http404("No such article.")
    return render(request, "portal/help_article.html", {"article": article})
