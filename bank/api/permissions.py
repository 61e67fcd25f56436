"""What a partner token may do at all, for every app's API. Which customer it may see is decided by the
customer selectors (object level)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasScope(BasePermission):
    """A partner token must hold every scope in the view's `required_scopes`; users pass through.

    Fails closed: a view that forgets `required_scopes` is denied to every partner. The scope check does not
    depend on which customer is asked for, so its 403 reveals nothing about whether a customer exists.
    """

    code = "insufficient_scope"
    message = "This API token does not have the scope this endpoint needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        # Only partner tokens carry scopes; sessions (customers, staff) pass through to object-level checks.
        if token is None or not hasattr(token, "scopes"):
            return True
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
