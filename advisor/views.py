"""Portal: "Recommended for you", with reasons, a box to say what you need, and feedback buttons.

The customer is always the logged-in user's own record; feedback is a POST (CSRF-protected) followed by a
redirect, so a reload never records a click twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from advisor import services
from advisor.models import Channel, RecommendationSet
from customers.models import Channel as InteractionChannel
from customers.models import Customer, InteractionEvent
from customers.selectors import customer_for_user
from products.models import Product
from products.needs import Needs

PORTAL_K = 6


class NeedsForm(forms.Form):
    q = forms.CharField(max_length=500, required=False, strip=True, label=_("Tell us what you are looking for"))


def _customer(request: HttpRequest) -> Customer | HttpResponse:
    customer = customer_for_user(user=request.user)
    if customer is not None:
        return customer
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "portal/no_customer.html", status=403)


@login_required
@require_GET
def recommendations(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    form = NeedsForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context: dict[str, Any] = {"form": form, "query": query, "unavailable": False, "error": ""}
    recommendation_set = None
    try:
        # Without a need in words, the list shown last (here, in the app, or by the nightly batch) while it holds:
        # the page does not reshuffle on every visit (services.stored_set says when it is renewed).
        recommendation_set = services.current_recommendations(
            customer=customer, k=PORTAL_K, channel=Channel.PORTAL, query=query
        )
    except services.NoActiveRecommender:
        context["unavailable"] = True
    except ValueError as error:
        context["error"] = str(error)
    if recommendation_set is not None:
        services.record_impressions(recommendation_set=recommendation_set, channel=InteractionChannel.ONLINE)
        chinese = (get_language() or "").startswith("zh")
        items = list(recommendation_set.items.select_related("product").order_by("rank")[:PORTAL_K])
        context["recommendation_set"] = recommendation_set
        context["items"] = [
            {"item": item, "product": item.product, "reasons": item.reasons_zh if chinese else item.reasons_en}
            for item in items
        ]
        if recommendation_set.needs:
            context["understood"] = Needs.from_json(recommendation_set.needs).describe(
                "zh" if chinese else "en", sources=True
            )
    return render(request, "portal/recommendations.html", context)


def _own_set(customer: Customer, public_id: str) -> RecommendationSet | None:
    """The customer's own list with this id; None for another customer's, a made-up or a malformed id."""
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        return None
    return RecommendationSet.objects.filter(public_id=key, customer=customer).first()


@login_required
@require_POST
def feedback(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    event = request.POST.get("event", "")
    product = Product.objects.filter(code=request.POST.get("product", "")).first()
    recommendation_set = _own_set(customer, request.POST.get("recommendation", ""))
    if product is None or event not in (InteractionEvent.CLICK, InteractionEvent.DISMISS):
        messages.error(request, _("That could not be recorded."))
        return redirect("portal:recommendations")
    services.record_feedback(
        customer=customer, product=product, event=event, channel=InteractionChannel.ONLINE,
        recommendation_set=recommendation_set,
    )
    if event == InteractionEvent.DISMISS:
        messages.success(request, _("Thanks, we will not suggest %(name)s for a while.") % {"name": product.name})
        return redirect("portal:recommendations")
    return redirect(reverse("portal:product_detail", args=[product.code]))
