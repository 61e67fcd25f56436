"""Customer API permissions: partners stay off the portal-only routes (scopes: bank.api.permissions)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from customers.models import PartnerToken


class IsPortalUser(BasePermission):
    """For routes about 'me': a logged-in person, never a partner token (a partner has no 'me')."""

    code = "not_a_portal_user"
    message = "This endpoint is for logged-in users; partners address customers by id."

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.auth, PartnerToken)
