import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from customers.api.authentication import PartnerPrincipal, PartnerTokenAuthentication
from customers.models import PartnerToken
from customers.partners import (
    TokenRejected,
    issue_partner_token,
    revoke_partner_token,
    token_from_secret,
)
from customers.tests.factories import PartnerFactory
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def _bearer(secret: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def test_issued_token_has_the_documented_format_and_only_its_hash_is_stored():
    partner = PartnerFactory(name="Acme Wealth")

    token, secret = issue_partner_token(partner=partner, name="production", scopes=["products:read"])

    kind, prefix, rest = secret.split("_", 2)
    assert kind == "bpk"
    assert prefix == token.prefix
    assert len(prefix) == 10
    assert len(rest) >= 40
    stored = PartnerToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.scopes == ["products:read"]
    assert stored.name == "production"
    assert stored.expires_at is None
    assert stored.revoked_at is None
    # Nothing in the row reveals the secret part of the token.
    row = PartnerToken.objects.filter(pk=token.pk).values().get()
    assert all(rest not in str(value) for value in row.values())


def test_two_tokens_never_share_prefix_or_secret():
    partner = PartnerFactory()
    first = issue_partner_token(partner=partner, name="a", scopes=["products:read"])
    second = issue_partner_token(partner=partner, name="b", scopes=["products:read"])
    assert first[0].prefix != second[0].prefix
    assert first[1] != second[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["products:write"]}, "Unknown scope(s): products:write."),
        ({"scopes": []}, "A token needs at least one scope."),
        ({"name": "  "}, "A token needs a name"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "expires_at is in the past."),
    ],
)
def test_issuing_refuses_bad_input_and_writes_nothing(kwargs, message):
    partner = PartnerFactory()
    arguments = {"partner": partner, "name": "production", "scopes": ["products:read"], **kwargs}

    with pytest.raises(ValueError, match="^" + re.escape(message)):
        issue_partner_token(**arguments)

    assert PartnerToken.objects.count() == 0


def test_issuing_for_an_inactive_partner_is_refused():
    partner = PartnerFactory(name="Dormant", is_active=False)
    with pytest.raises(ValueError, match="inactive"):
        issue_partner_token(partner=partner, name="production", scopes=["products:read"])
    assert PartnerToken.objects.count() == 0


def test_revoking_is_idempotent_and_keeps_the_first_time():
    token, _ = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])

    revoke_partner_token(token=token)
    first = PartnerToken.objects.get(pk=token.pk).revoked_at
    revoke_partner_token(token=token)

    assert first is not None
    assert token.revoked_at == first
    assert PartnerToken.objects.get(pk=token.pk).revoked_at == first


@pytest.mark.parametrize(
    "raw",
    ["", "bpk", "bpk__secret", "xyz_0123456789_secret", "bpk_0123456789_", "bpk_short_secret"],
)
def test_malformed_tokens_are_rejected_as_invalid(raw):
    with pytest.raises(TokenRejected) as rejected:
        token_from_secret(raw=raw)
    assert rejected.value.code == "invalid_token"


def test_a_right_prefix_with_a_wrong_secret_is_invalid():
    token, secret = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])
    with pytest.raises(TokenRejected) as rejected:
        token_from_secret(raw=f"bpk_{token.prefix}_not-the-secret")
    assert rejected.value.code == "invalid_token"
    assert token_from_secret(raw=secret) == token


def test_authenticated_request_carries_a_partner_principal_and_the_token():
    partner = PartnerFactory(name="Acme Wealth")
    token, secret = issue_partner_token(partner=partner, name="p", scopes=["products:read"])
    request = APIRequestFactory().get(PRODUCTS, HTTP_AUTHORIZATION=f"Bearer {secret}")

    user, auth = PartnerTokenAuthentication().authenticate(request)

    assert user == PartnerPrincipal(partner_id=partner.pk, partner_name="Acme Wealth")
    assert user.is_authenticated is True
    assert user.is_staff is False
    assert user.is_superuser is False
    assert user.has_perm("customers.view_customer") is False
    assert auth == token


def test_other_authorization_schemes_are_left_to_the_next_authenticator():
    request = APIRequestFactory().get(PRODUCTS, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert PartnerTokenAuthentication().authenticate(request) is None


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_bearer_and_token_keywords_are_both_accepted(keyword):
    ProductFactory(code="DEP-12M")
    _, secret = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])

    response = _bearer(secret, keyword).get(PRODUCTS)

    assert response.status_code == 200
    assert [item["code"] for item in response.json()["results"]] == ["DEP-12M"]


def test_no_credentials_is_401_with_a_bearer_challenge():
    response = APIClient().get(PRODUCTS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": {},
        }
    }


def _expired(token: PartnerToken) -> None:
    PartnerToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _revoked(token: PartnerToken) -> None:
    revoke_partner_token(token=token)


def _partner_deactivated(token: PartnerToken) -> None:
    token.partner.is_active = False
    token.partner.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    ("spoil", "code", "message"),
    [
        (_expired, "token_expired", "The API token has expired."),
        (_revoked, "token_revoked", "The API token has been revoked."),
        (_partner_deactivated, "partner_inactive", "The partner of this API token is inactive."),
    ],
)
def test_unusable_tokens_get_401_with_a_clear_code_and_record_no_use(spoil, code, message):
    token, secret = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])
    spoil(token)

    response = _bearer(secret).get(PRODUCTS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"error": {"code": code, "message": message, "details": {}}}
    assert PartnerToken.objects.get(pk=token.pk).last_used_at is None


@pytest.mark.parametrize(
    "header", ["Bearer garbage", "Bearer bpk_0123456789_nope", "Bearer two parts", "Bearer", "Token   "]
)
def test_garbage_tokens_get_401_invalid_token(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(PRODUCTS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_last_used_is_written_at_most_once_a_minute():
    token, secret = issue_partner_token(partner=PartnerFactory(), name="p", scopes=["products:read"])
    client = _bearer(secret)

    client.get(PRODUCTS)
    first = PartnerToken.objects.get(pk=token.pk).last_used_at
    client.get(PRODUCTS)
    second = PartnerToken.objects.get(pk=token.pk).last_used_at

    assert first is not None
    assert second == first

    long_ago = timezone.now() - timedelta(minutes=2)
    PartnerToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    client.get(PRODUCTS)
    assert PartnerToken.objects.get(pk=token.pk).last_used_at > long_ago


def test_command_prints_a_working_secret_once():
    PartnerFactory(name="Acme Wealth")
    out, err = StringIO(), StringIO()

    call_command(
        "issue_partner_token",
        "--partner",
        "Acme Wealth",
        "--name",
        "production",
        "--scope",
        "products:read",
        "--scope",
        "profile:read",
        "--expires-in-days",
        "30",
        stdout=out,
        stderr=err,
    )

    secret = out.getvalue().strip()
    token = PartnerToken.objects.get()
    assert token_from_secret(raw=secret) == token
    assert token.scopes == ["products:read", "profile:read"]
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert secret not in err.getvalue()
    assert (
        f"Issued token {token.prefix}… for Acme Wealth with scopes products:read, profile:read"
        in err.getvalue()
    )


def test_command_refuses_an_unknown_partner_unless_asked_to_create_it():
    with pytest.raises(CommandError, match="No partner named 'Nobody'"):
        call_command("issue_partner_token", "--partner", "Nobody", "--name", "p", "--scope", "products:read")
    assert PartnerToken.objects.count() == 0

    call_command(
        "issue_partner_token",
        "--partner",
        "Nobody",
        "--name",
        "p",
        "--scope",
        "products:read",
        "--create-partner",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert PartnerToken.objects.get().partner.name == "Nobody"
