"""What a partner token may do at all, for every app's API. Which customer it may see is decided by the
customer selectors (object level)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasScope(BasePermission):
    """A partner token must hold every scope in the view's `required_scopes`; users pass through.

    Fails closed: a view that forgets `required_scopes` is denied to every partner. The scope check does not
    depend on which customer is asked for, so its 403 reveals nothing about whether a customer exists. Staff
    sessions are held to the same data kinds through their role's view permissions (STAFF_PERMISSIONS_BY_SCOPE,
    or a view's own `staff_permissions`).
    """

    code = "insufficient_scope"
    message = "This API token does not have the scope this endpoint needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        # Only partner tokens carry scopes; sessions (customers, staff) pass through to object-level checks,
        # except that staff reach an endpoint only when their role may view the data it serves.
        if token is None or not hasattr(token, "scopes"):
            return self._staff_role_allows(request, view)
        required = getattr(view, "required_scopes", None)
        if not required:
            self.message = "This endpoint is not available to partners."
            return False
        missing = sorted(set(required) - set(token.scopes))
        if missing:
            # DRF instantiates permissions per request, so setting the message here is safe.
            self.message = f"This API token lacks the scope(s): {', '.join(missing)}."
            return False
        return True

    def _staff_role_allows(self, request: Request, view: Any) -> bool:
        """A staff session gets an endpoint's data only with the back-office view permission(s) for it.

        Without this a support agent could read a credit score or holdings through the API that the admin hides
        from their role (bank.roles). Customers are not staff and pass through to the object-level checks.
        """
        user = request.user
        if not getattr(user, "is_staff", False):
            return True
        wanted = getattr(view, "staff_permissions", None)
        if wanted is None:
            wanted = tuple(perm for scope in getattr(view, "required_scopes", ()) or ()
                           for perm in STAFF_PERMISSIONS_BY_SCOPE.get(scope, ()))
        if user.has_perms(wanted):
            return True
        self.code = "staff_role_not_allowed"
        self.message = gettext("Your staff role may not see this data.")
        return False


# What a staff role must be allowed to view (bank.roles) to read the customer data behind a scope. Not here:
# products:read (the public catalogue, open to all staff) and the write scopes (the views refuse staff acting as
# a customer themselves: staff act in the back office).
STAFF_PERMISSIONS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "profile:read": ("customers.view_customer",),
    "accounts:read": ("customers.view_account",),
    "transactions:read": ("customers.view_transaction",),
    "recommendations:read": ("advisor.view_recommendationset",),
    "investments:read": ("advisor.view_riskassessment", "advisor.view_investmentadvice"),
    "applications:read": ("advisor.view_application",),
    "messages:read": ("advisor.view_message",),
    "risk:read": ("risk.view_creditscore",),
}
