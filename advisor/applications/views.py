"""Portal pages for applications: the apply form (from a product page or a recommendation), the customer's list of
applications and one application's status with its timeline, the needs we understood and the reasons.

Every write is a POST (CSRF-protected) followed by a redirect. The customer is always the logged-in user's own
record; an application id of another customer is a 404.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from advisor.applications import checks, services
from advisor.applications.models import TRANSITIONS, Application, ApplicationSource, ApplicationState
from advisor.applications.reading import describe
from advisor.models import Recommendation
from advisor.views import _customer
from products.models import Product, ProductType


class ApplyForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you applying? (optional)"), required=False, max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("e.g. I travel a lot and want no foreign-exchange "
                                                                 "fees")}))
    amount = forms.DecimalField(label=_("Amount (CNY)"), required=False, min_value=Decimal("0.01"), max_digits=14,
                                decimal_places=2)

    def __init__(self, *args: Any, product: Product, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if product.type == ProductType.CREDIT_CARD:
            self.fields["amount"].label = _("Credit limit you would like (CNY, optional)")
        elif product.type == ProductType.LOAN:
            self.fields["amount"].label = _("Amount to borrow (CNY)")
            self.fields["amount"].required = True
        elif product.type in checks.FUNDED_TYPES:
            self.fields["amount"].label = _("Amount to put in (CNY)")
            self.fields["amount"].required = True
            # `amount` is the DecimalField declared above. Its minimum here only reaches the widget (the
            # validators were made in __init__); submitting checks it (services._validate_amount).
            amount = cast(forms.DecimalField, self.fields["amount"])
            amount.min_value = product.min_amount  # type: ignore[assignment]  # django-stubs: IntegerField's int


def _language() -> str:
    return "zh" if (get_language() or "").startswith("zh") else "en"


def _own(customer: Any, public_id: str) -> Application:
    try:
        uuid.UUID(public_id)
    except ValueError:
        raise Http404 from None
    return get_object_or_404(Application.objects.select_related("product"), customer=customer, public_id=public_id)


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, code: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    product = get_object_or_404(Product, code=code, is_active=True)
    recommendation = None
    if set_id := request.GET.get("from") or request.POST.get("from"):
        try:
            recommendation = Recommendation.objects.filter(
                recommendation_set__public_id=uuid.UUID(set_id), customer=customer, product=product).first()
        except ValueError:
            recommendation = None
    form = ApplyForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.submit_application(
                customer=customer, product=product, actor_label="customer", actor_user=request.user,
                source=ApplicationSource.RECOMMENDATION if recommendation else ApplicationSource.PRODUCT_PAGE,
                recommendation=recommendation, reason_text=form.cleaned_data["reason"],
                requested_amount=form.cleaned_data["amount"], language=_language(),
            )
        except services.ApplicationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Thank you. Your application is submitted; we will show the outcome here."))
            return redirect("portal:application_detail", public_id=str(result.application.public_id))
    return render(request, "portal/application_form.html", {
        "product": product, "form": form, "recommendation_set": set_id if recommendation else "",
    })


@login_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    rows = Application.objects.filter(customer=customer).select_related("product").order_by("-created_at")[:50]
    return render(request, "portal/applications.html", {"applications": rows})


@login_required
@require_GET
def application_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    app = _own(customer, public_id)
    language = _language()
    cited = set(app.reason_codes)
    return render(request, "portal/application_detail.html", {
        "application": app,
        "events": app.events.order_by("at", "id"),
        "understood": describe(app.needs, language),
        "checks": [{"status": c["status"], "text": c[language], "cited": c["code"] in cited} for c in app.checks],
        "can_withdraw": ApplicationState.WITHDRAWN in TRANSITIONS[app.state],
        "can_activate": app.state == ApplicationState.APPROVED,
        "pending": app.state in (ApplicationState.SUBMITTED, ApplicationState.CHECKING),
    })


@login_required
@require_POST
def application_action(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    customer = _customer(request)
    if isinstance(customer, HttpResponse):
        return customer
    app = _own(customer, public_id)
    try:
        if action == "withdraw":
            services.withdraw_application(application=app, actor_label="customer", actor_user=request.user)
            messages.success(request, _("Your application is withdrawn."))
        elif action == "activate":
            services.activate_application(application=app, actor_label="customer", actor_user=request.user)
            messages.success(request, _("Done: your new product is open."))
        else:
            raise Http404
    except services.ApplicationError as error:
        messages.error(request, str(error))
    return redirect("portal:application_detail", public_id=str(app.public_id))
