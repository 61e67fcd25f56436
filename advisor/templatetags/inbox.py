"""`{% inbox_unread as n %}`: the logged-in customer's unread messages, for the portal's navigation."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context: dict[str, Any]) -> int:
    from advisor.engagement.selectors import unread_count
    from customers.selectors import customer_for_user

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return 0
    customer = customer_for_user(user=user)
    return unread_count(customer=customer) if customer is not None else 0
