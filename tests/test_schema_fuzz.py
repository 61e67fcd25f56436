"""Schema fuzzing: every operation of the served OpenAPI schema (/api/schema/), driven by schemathesis.

For each operation, hypothesis generates requests the schema says are valid, and (a second run) requests it says
are invalid: query strings, headers, bodies and path parameters; most examples use the seeded customer's and
product's real ids so that the request reaches the view rather than a 404. The app is called in-process through
its WSGI entry point, as the demo-like partner (a token with every scope, consented to the seeded customer) and as
that customer's portal session.
Every response must be: no server error (a 503 only where the operation documents it), a documented status
code, a documented content type, and a body and headers matching the documented schema.

Bounded for CI: FUZZ_EXAMPLES examples per operation, caller and mode (valid, invalid; default 8: ~2 min on 2 cores);
`FUZZ_EXAMPLES=200 pytest tests/test_schema_fuzz.py` explores further.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bank.wsgi import application
from customers.models import PartnerScope
from customers.partners import issue_partner_token
from customers.tests.factories import (
    AccountFactory,
    CustomerFactory,
    HoldingFactory,
    PartnerConsentFactory,
    PartnerFactory,
    TransactionFactory,
)
from products.tests.catalogue import build_catalogue

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance, response_headers_conformance]


# Reads that valid requests with the seeded ids must get a 2xx from, as either caller.
REACHED_BY_VALID_REQUESTS = {
    "GET /api/v1/products/",
    "GET /api/v1/products/{code}/",
    "GET /api/v1/customers/{public_id}/",
    "GET /api/v1/customers/{public_id}/accounts/",
    "GET /api/v1/customers/{public_id}/transactions/",
    "GET /api/v1/customers/{public_id}/holdings/",
}


def no_undocumented_server_error(ctx: CheckContext, response, case) -> bool:
    """A 5xx is a bug, except a 503 whose code the operation documents for a reason of its own (model_not_ready).

    Every operation documents 503 service_unavailable (the database unreachable, bank.resilience): the database is
    up here, so that one is a bug too (a request that breaks a query)."""
    if response.status_code < 500:
        return True
    if response.status_code == 503:
        documented = case.operation.definition.raw.get("responses", {}).get("503", {}).get("description", "")
        try:
            code = json.loads(response.content)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code and code != "service_unavailable" and f"(code {code})" in documented:
            return True
    raise AssertionError(f"server error {response.status_code}: {response.content[:500]!r}")


@pytest.fixture
def _wsgi_keeps_the_test_connection():
    # Django's own test client does this too: a real request closes the connection when it finishes, which
    # would end the test's transaction (and its seeded rows) after the first request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bank(db, settings, _wsgi_keeps_the_test_connection):
    settings.CHAT_LLM_BACKEND = "none"
    # Hundreds of requests a minute from one token: the limiter would answer most of them 429 (documented, and
    # tested in bank's own tests) and the views behind it would go unfuzzed.
    settings.API_RATE_LIMIT_ENABLED = False
    catalogue = build_catalogue()
    owner = CustomerFactory()
    other = CustomerFactory()
    current = AccountFactory(customer=owner)
    now = timezone.now()
    for day in range(6):
        TransactionFactory(account=current, customer=owner, amount=Decimal("-42.50"),
                           timestamp=now - timedelta(days=day * 5))
    product = next(iter(catalogue.values()))
    HoldingFactory(customer=owner, product=product)
    AccountFactory(customer=other)
    partner = PartnerFactory()
    PartnerConsentFactory(partner=partner, customer=owner)
    _, secret = issue_partner_token(partner=partner, name="fuzz", scopes=[s.value for s in PartnerScope])
    return {"owner": owner, "other": other, "product": product, "secret": secret}


def _actor_credentials(actor: str, bank: dict) -> tuple[dict[str, str], dict[str, str]]:
    if actor == "partner":
        return {"Authorization": f"Bearer {bank['secret']}"}, {}
    client = Client()
    client.force_login(bank["owner"].user)
    # DRF checks CSRF on a session's unsafe requests: send the same secret as cookie and header, as a browser would.
    csrf = secrets.token_hex(16)
    return {"X-CSRFToken": csrf}, {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}


def _real_path_parameters(bank: dict) -> dict[str, str]:
    return {"public_id": str(bank["owner"].public_id), "code": bank["product"].code}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("actor", ["partner", "customer"])
def test_every_operation_answers_as_documented(bank, actor, mode, subtests):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    headers, cookies = _actor_credentials(actor, bank)
    real = _real_path_parameters(bank)
    assert len(operations) >= 30  # every operation of the API, not a filtered few

    statuses: dict[str, set[int]] = {}
    for operation in operations:
        with subtests.test(operation=operation.label):

            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), use_real_ids=st.booleans() | st.just(True))
            def fuzz(case, use_real_ids):
                if use_real_ids:
                    for name in case.path_parameters or {}:
                        if name in real:
                            case.path_parameters[name] = real[name]
                    if isinstance(case.body, dict) and "product" in case.body:
                        case.body["product"] = real["code"]
                if actor == "customer" and case.headers:
                    # The schema also offers a bearer token; a made-up one would answer 401 before the session.
                    case.headers.pop("Authorization", None)
                response = case.call(headers=headers, cookies=cookies)
                statuses.setdefault(case.operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=[no_undocumented_server_error, *CHECKS],
                                       headers=headers)

            fuzz()

    # The fuzzer got past authentication and lookups to the views themselves, not only 401s and 404s.
    reached = {label for label, codes in statuses.items() if any(200 <= code < 300 for code in codes)}
    if mode == GenerationMode.POSITIVE:
        assert REACHED_BY_VALID_REQUESTS <= reached, sorted(REACHED_BY_VALID_REQUESTS - reached)
