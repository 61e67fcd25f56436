"""Customer portal pages: the dashboard and the transaction history.

A customer reaches only their own data: every page starts from `customer_for_user(user=request.user)` and
reads through `customers.selectors`; no customer or account id ever appears in a portal URL (filters use
the account's public id, looked up among the customer's own accounts).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from customers.models import Account, Customer, RiskTolerance, SpendingCategory
from customers.selectors import accounts_of, customer_for_user, holdings_of, latest_profile, transactions_of
from customers.services import CONSENTS, set_consent

RECENT_TRANSACTIONS = 10
TRANSACTIONS_PER_PAGE = 25

# What each risk level means for the customer, in words they would use themselves.
RISK_IN_PLAIN_WORDS = {
    RiskTolerance.R1: _("You want your money safe above all, even if it grows slowly."),
    RiskTolerance.R2: _("You accept small ups and downs for slightly better returns."),
    RiskTolerance.R3: _("You accept moderate ups and downs in exchange for steadier growth."),
    RiskTolerance.R4: _("You accept large swings in value in pursuit of higher growth."),
    RiskTolerance.R5: _("You accept the chance of large losses in pursuit of the highest returns."),
}


def _customer_or_redirect(request: HttpRequest) -> Customer | HttpResponse:
    customer = customer_for_user(user=request.user)
    if customer is not None:
        return customer
    if request.user.is_staff:
        # Staff work in the back office; the portal shows a customer's own money only.
        return redirect("admin:index")
    return render(request, "portal/no_customer.html", status=403)


def _greeting() -> str:
    hour = timezone.localtime().hour
    if hour < 12:
        return str(_("Good morning"))
    if hour < 18:
        return str(_("Good afternoon"))
    return str(_("Good evening"))


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    customer = _customer_or_redirect(request)
    if isinstance(customer, HttpResponse):
        return customer
    profile = latest_profile(customer=customer)
    summary = ""
    if profile is not None:
        chinese = (get_language() or "").startswith("zh")
        # A profile computed before the Chinese summary existed still says something, in English.
        summary = (profile.summary_zh if chinese else profile.summary_en) or profile.summary_en
    partner_consents = customer.partner_consents.filter(revoked_at__isnull=True).select_related("partner")
    context: dict[str, Any] = {
        "customer": customer,
        "greeting": _greeting(),
        "accounts": list(accounts_of(customer=customer)),
        "transactions": list(transactions_of(customer=customer)[:RECENT_TRANSACTIONS]),
        "holdings": list(holdings_of(customer=customer)),
        "profile": profile,
        "profile_summary": summary,
        "risk_label": RiskTolerance(customer.risk_tolerance).label,
        "risk_in_plain_words": RISK_IN_PLAIN_WORDS[RiskTolerance(customer.risk_tolerance)],
        "partner_consents": list(partner_consents),
    }
    return render(request, "portal/dashboard.html", context)


class TransactionFilterForm(forms.Form):
    account = forms.ChoiceField(label=_("Account"), required=False)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All categories")), *SpendingCategory.choices]
    )

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accounts = {str(account.public_id): account for account in accounts}
        account_field = cast(forms.ChoiceField, self.fields["account"])
        account_field.choices = [("", _("All accounts"))] + [
            (key, f"{account.get_type_display()} {account.masked_number}")
            for key, account in self.accounts.items()
        ]


@login_required
@require_GET
def transactions(request: HttpRequest) -> HttpResponse:
    customer = _customer_or_redirect(request)
    if isinstance(customer, HttpResponse):
        return customer
    form = TransactionFilterForm(request.GET or None, accounts=list(accounts_of(customer=customer)))
    account, category = None, None
    # An account that is not one of the customer's own fails validation and filters nothing; a valid
    # category still applies.
    if form.is_bound:
        form.is_valid()
        account = form.accounts.get(form.cleaned_data.get("account", ""))
        category = form.cleaned_data.get("category") or None
    rows = transactions_of(customer=customer, account=account, category=category)
    page = Paginator(rows, TRANSACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"customer": customer, "form": form, "page": page, "filter_query": query.urlencode()}
    return render(request, "portal/transactions.html", context)


@login_required
@require_POST
def change_consent(request: HttpRequest) -> HttpResponse:
    """Give or withdraw a consent from the portal (the dashboard and every offer's footer link here)."""
    customer = _customer_or_redirect(request)
    if isinstance(customer, HttpResponse):
        return customer
    consent, value = request.POST.get("consent", ""), request.POST.get("granted", "")
    if consent not in CONSENTS or value not in ("yes", "no"):
        return HttpResponse(_("Unknown consent."), status=400)
    changed = set_consent(customer=customer, consent=consent, granted=value == "yes", actor=request.user,
                          channel="portal")
    if changed:
        messages.success(request, _("Your choice is saved.") if value == "yes" else
                         _("Done: we will not use this any more. You can change your mind at any time."))
    return redirect(f"{reverse('portal:dashboard')}#consents")
