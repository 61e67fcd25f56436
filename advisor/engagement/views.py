"""Portal: the customer's inbox. The list, a message (opening it marks it read and tells the recommender the
product was seen), and the message's link, which records a click and goes to the product.

The customer is always the logged-in user's own record; another customer's message id is a 404 exactly like a
made-up one, and nothing is recorded. The link is a GET because it also sits in emails; a repeated click is one
more click event, never a second "first click".
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from advisor.engagement import selectors, services
from advisor.engagement.models import Message
from advisor.views import _customer
from customers.models import Channel as InteractionChannel
from customers.models import Customer


def _own(customer: Customer, public_id: str) -> Message:
    try:
        return selectors.message_of(customer=customer, public_id=public_id)
    except Message.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    page = Paginator(selectors.inbox_of(customer=customer), 20).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page, "unread": selectors.unread_count(customer=customer)})


@login_required
@require_GET
def message_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    message = _own(customer, public_id)
    if message.opened_at is None:
        message = services.mark_opened(message=message, channel=InteractionChannel.ONLINE).message
    return render(request, "portal/inbox_message.html", {"message": message})


@login_required
@require_GET
def message_link(request: HttpRequest, public_id: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    result = services.record_click(message=_own(customer, public_id), channel=InteractionChannel.ONLINE)
    return redirect(result.target)
