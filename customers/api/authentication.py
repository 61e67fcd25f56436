"""Partner token authentication for the API, and the Actor every API view acts as.

A partner is not a Django user: it has no password, no staff flag and no model permissions, so a request
authenticated by a token carries a `PartnerPrincipal` as request.user (enough for IsAuthenticated) and the
PartnerToken as request.auth (its scopes are what HasScope checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from customers.models import PartnerToken
from customers.partners import TokenRejected, record_token_use, token_from_secret
from customers.selectors import Actor

KEYWORDS = ("bearer", "token")


@dataclass(frozen=True)
class PartnerPrincipal:
    """request.user for a partner. Deliberately not a User: nothing that checks staff flags or model
    permissions can ever grant a partner anything."""

    partner_id: int
    partner_name: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def __str__(self) -> str:
        return f"partner:{self.partner_name}"


class AuthenticationFailed(exceptions.AuthenticationFailed):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)


class PartnerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` (or `Token <token>`). Other schemes are left to the next one."""

    def authenticate(self, request: Request) -> tuple[PartnerPrincipal, PartnerToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(
                "invalid_token",
                "The Authorization header must be 'Bearer <token>', with no spaces in the token.",
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid_token", "The API token is not valid.") from None
        try:
            token = token_from_secret(raw=raw)
        except TokenRejected as rejected:
            raise AuthenticationFailed(rejected.code, rejected.message) from None
        record_token_use(token=token)
        return PartnerPrincipal(partner_id=token.partner_id, partner_name=token.partner.name), token

    def authenticate_header(self, request: Request) -> str:
        # Being the first authenticator, this makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


def actor_from_request(request: Request) -> Actor:
    """Who the request acts as, for customers.selectors: the partner of a token, else the logged-in user."""
    if isinstance(request.auth, PartnerToken):
        return Actor(partner=request.auth.partner, scopes=frozenset(request.auth.scopes))
    return Actor(user=request.user)


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token in the OpenAPI schema (drf-spectacular finds extensions by subclassing)."""

    target_class = "customers.api.authentication.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "bpk_<prefix>_<secret>",
            "description": "A partner API token. Issue one with `manage.py issue_partner_token`.",
        }
