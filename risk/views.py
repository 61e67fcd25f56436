"""Portal: notices about interventions on the customer's own accounts, in plain words, in their language."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from customers.selectors import customer_for_user
from risk.models import CustomerNotice
from risk.selectors import active_interventions, notices_of


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    customer = customer_for_user(user=request.user)
    if customer is None:
        if request.user.is_staff:
            return redirect("admin:index")
        return render(request, "portal/no_customer.html", status=403)
    chinese = (get_language() or "").startswith("zh")
    rows = list(notices_of(customer=customer)[:50])
    items = [
        {"notice": n, "title": n.title_zh if chinese else n.title_en, "body": n.body_zh if chinese else n.body_en,
         "unread": n.read_at is None}
        for n in rows
    ]
    # Shown is read: mark them after rendering the list (the page still highlights what was new this time).
    unread = [n.pk for n in rows if n.read_at is None]
    if unread:
        CustomerNotice.objects.filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "risk/notices.html", {
        "items": items, "active": list(active_interventions(customer=customer)),
    })
