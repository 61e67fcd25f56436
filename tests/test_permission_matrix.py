"""The permission matrix: every API endpoint and method × every kind of caller, with the answer each must get.

The endpoints are read from the URLconf (everything under api/v1/), so an endpoint added without a row in MATRIX
fails `test_every_api_endpoint_has_a_row_for_every_actor`. Each row declares, per actor, either OK (the endpoint
serves them; the row's `ok` status, which is what the endpoint answers once access is granted) or the denial
(401, 403 or 404), and the partner scopes the endpoint needs. Path parameters are the owner customer's own objects
(their account, application, message, conversation …), so "other customer" and "partner without consent" are
asking for someone else's data by a real id (OWASP API1, broken object-level authorisation).

Every denied request must also have changed nothing: the database is fingerprinted before and after (row count
and an md5 of every row of every table, less EXCLUDED_TABLES / EXCLUDED_COLUMNS, each with its reason). State-
changing requests carry bodies that are valid for the owner, so a denial is a real denial and not a 400; POSTs
carry a fresh Idempotency-Key. An allowed answer to someone who is not entitled to the owner (a list endpoint
answering another customer, a stranger partner or another relationship manager) must not mention the owner.

The bank is built once per module inside an outer transaction that is rolled back at its end; each case runs in
its own savepoint, so what an allowed POST writes is gone before the next case.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from bank.roles import ADMINISTRATOR, COMPLIANCE_OFFICER, RELATIONSHIP_MANAGER, RISK_OFFICER, SUPPORT_AGENT
from customers.models import PartnerScope

pytestmark = pytest.mark.django_db

API_PREFIX = "api/v1/"
OK = 0  # "served": the row's `ok` status
DENIALS = (401, 403, 404)

ACTORS = (
    "anonymous", "owner", "other_customer", "partner", "partner_no_consent", "partner_no_scope",
    "rm_own_book", "rm_other_book", "risk_officer", "compliance_officer", "support_agent", "administrator",
)
STAFF_ROLES = {
    "rm_own_book": RELATIONSHIP_MANAGER, "rm_other_book": RELATIONSHIP_MANAGER, "risk_officer": RISK_OFFICER,
    "compliance_officer": COMPLIANCE_OFFICER, "support_agent": SUPPORT_AGENT, "administrator": ADMINISTRATOR,
}
# Callers who must learn nothing about the owner even when the endpoint serves them (a list of their own).
NOT_ENTITLED_TO_OWNER = ("other_customer", "partner_no_consent", "rm_other_book")

# Tables a request may legitimately change whatever its outcome, left out of the fingerprint.
EXCLUDED_TABLES = {
    "django_session": "a session login writes and may refresh its session row on any request",
    "bank_ratelimitwindow": "the API rate limit counts every request of a client, served or refused",
    # Checked on its own instead (_assert_no_read_or_change_was_audited): the append-only audit log may record an
    # attempt that was refused, but a refusal must never appear as a read or a change.
    "bank_auditevent": "the append-only audit log may record a refused attempt (never as a read or change)",
    # Checked on its own instead (_assert_only_the_refusal_was_stored): bank.api.idempotency stores a refusal as
    # the answer to its key, so that a retry cannot turn it into a success behind the client's back.
    "bank_idempotencyrecord": "the Idempotency-Key layer stores every answer to a keyed POST, refusals included",
    "axes_accessattempt": "login throttling counts login attempts (not API requests; listed for completeness)",
    "axes_accesslog": "login throttling's access log (not API requests; listed for completeness)",
    "axes_accessfailurelog": "login throttling's failure log (not API requests; listed for completeness)",
}
# Columns that change on any authenticated request: the rest of the row is still fingerprinted.
EXCLUDED_COLUMNS = {
    "customers_partnertoken": {"last_used_at": "stamped (per minute) whenever the token authenticates"},
    "auth_user": {"last_login": "set by the session login the test performs before the request"},
}


# --- The matrix -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    scopes: tuple[str, ...]  # what a partner token needs; () = the endpoint checks no scope
    outcomes: dict[str, int]
    ok: int = 200
    body: Callable[[Any], dict[str, Any]] | None = None


def _row(scopes: tuple[str, ...], base: dict[str, int], ok: int, body: Any, overrides: dict[str, int]) -> Row:
    return Row(scopes=scopes, outcomes={**base, **overrides}, ok=ok, body=body)


def customer_read(scope: str, *, ok: int = 200, body: Any = None, **overrides: int) -> Row:
    """A customer's data: the customer, a consented partner with the scope, staff whose role may view it (an RM:
    their own book only)."""
    base = dict(anonymous=401, owner=OK, other_customer=404, partner=OK, partner_no_consent=404,
                partner_no_scope=403, rm_own_book=OK, rm_other_book=404, risk_officer=OK, compliance_officer=OK,
                support_agent=OK, administrator=OK)
    return _row((scope,), base, ok, body, overrides)


def customer_act(scope: str, *, ok: int = 201, body: Any = None, **overrides: int) -> Row:
    """Acting as the customer: only the customer or a consented partner with the scope; staff never (they act in
    the back office) — 403 when they may see the customer, 404 when they may not even see them."""
    base = dict(anonymous=401, owner=OK, other_customer=404, partner=OK, partner_no_consent=404,
                partner_no_scope=403, rm_own_book=403, rm_other_book=404, risk_officer=403, compliance_officer=403,
                support_agent=403, administrator=403)
    return _row((scope,), base, ok, body, overrides)


def everyone(scopes: tuple[str, ...], *, ok: int = 200, **overrides: int) -> Row:
    """Not about one customer: any authenticated caller (partners with the scope)."""
    base = {actor: OK for actor in ACTORS} | {"anonymous": 401}
    if scopes:
        base["partner_no_scope"] = 403
    return _row(scopes, base, ok, None, overrides)


S = PartnerScope
NO_STAFF_READ = dict(risk_officer=403, support_agent=403)  # roles without the view permission for the data
CHAT_STAFF = dict(rm_own_book=404, rm_other_book=404, risk_officer=404, compliance_officer=404, support_agent=404,
                  administrator=404)  # a session is visible only to its customer (and the partner that started it)

MATRIX: dict[tuple[str, str], Row] = {
    # customers
    ("api-customers", "GET"): everyone((S.PROFILE_READ,)),
    ("api-customer-me", "GET"): everyone((), partner=403, partner_no_consent=403, partner_no_scope=403,
                                         rm_own_book=404, rm_other_book=404, risk_officer=404, compliance_officer=404,
                                         support_agent=404, administrator=404),
    ("api-customer", "GET"): customer_read(S.PROFILE_READ),
    ("api-customer-accounts", "GET"): customer_read(S.ACCOUNTS_READ),
    ("api-customer-transactions", "GET"): customer_read(S.TRANSACTIONS_READ),
    ("api-customer-holdings", "GET"): customer_read(S.ACCOUNTS_READ, support_agent=403),
    # products
    ("api-products", "GET"): everyone((S.PRODUCTS_READ,)),
    ("api-product", "GET"): everyone((S.PRODUCTS_READ,)),
    # recommendations: no recommender is trained here, so a served request ends in 503 model_not_ready — after
    # the access checks, which is what this test is about (advisor/tests cover the 200s).
    ("api-customer-recommendations", "GET"): customer_read(S.RECOMMENDATIONS_READ, ok=503, **NO_STAFF_READ),
    ("api-customer-recommendations-query", "POST"): customer_read(
        S.RECOMMENDATIONS_READ, ok=503, body=lambda b: {"q": "low risk savings for a year"}, **NO_STAFF_READ),
    ("api-customer-recommendations-feedback", "POST"): customer_act(
        S.FEEDBACK_WRITE, body=lambda b: {"product": b.card.code, "event": "click"}),
    # investing
    ("api-risk-questionnaire", "GET"): everyone(()),
    ("api-customer-risk-profile", "GET"): customer_read(S.INVESTMENTS_READ, **NO_STAFF_READ),
    ("api-customer-risk-profile", "POST"): customer_act(S.INVESTMENTS_WRITE, body=lambda b: {"answers": b.answers}),
    ("api-customer-allocation", "POST"): customer_act(S.INVESTMENTS_WRITE, body=lambda b: {"amount": "250000"}),
    # The owner holds nothing yet, so a served rebalance is a 409 (nothing to rebalance): after the access checks.
    ("api-customer-rebalancing", "POST"): customer_act(S.INVESTMENTS_WRITE, ok=409),
    ("api-customer-goal-projection", "POST"): customer_act(S.INVESTMENTS_WRITE, body=lambda b: {
        "name": "School fees", "target_amount": "300000", "target_date": "2036-09-01",
        "current_savings": "50000", "monthly_contribution": "1000"}),
    ("api-customer-advice", "GET"): customer_read(S.INVESTMENTS_READ, **NO_STAFF_READ),
    # applications
    ("api-customer-applications", "GET"): customer_read(S.APPLICATIONS_READ),
    ("api-customer-applications", "POST"): customer_act(
        S.APPLICATIONS_WRITE, body=lambda b: {"product": b.card.code, "reason": "I travel for work"}),
    ("api-customer-application", "GET"): customer_read(S.APPLICATIONS_READ),
    ("api-customer-application-withdraw", "POST"): customer_act(S.APPLICATIONS_WRITE, ok=200),
    # The owner's application is still being decided, so a served activation is a 409 (not approved).
    ("api-customer-application-activate", "POST"): customer_act(S.APPLICATIONS_WRITE, ok=409),
    # messages
    ("api-customer-messages", "GET"): customer_read(S.MESSAGES_READ, **NO_STAFF_READ),
    ("api-customer-message", "GET"): customer_read(S.MESSAGES_READ, **NO_STAFF_READ),
    ("api-customer-message-open", "POST"): customer_act(S.MESSAGES_WRITE),
    ("api-customer-message-click", "POST"): customer_act(S.MESSAGES_WRITE),
    # chat
    ("api-chat-sessions", "POST"): customer_act(
        S.CHAT_WRITE, body=lambda b: {"customer": str(b.owner.public_id), "language": "en"}, rm_other_book=403),
    ("api-chat-session", "GET"): customer_act(S.CHAT_WRITE, ok=200, **CHAT_STAFF),
    ("api-chat-messages", "POST"): customer_act(S.CHAT_WRITE, ok=200, body=lambda b: {"text": "hello"},
                                                **CHAT_STAFF),
    # risk
    ("api-customer-risk", "GET"): customer_read(S.RISK_READ, support_agent=403),
    ("api-risk-transactions", "POST"): customer_act(
        S.TRANSACTIONS_WRITE, body=lambda b: {
            "customer": str(b.owner.public_id), "account": str(b.account.public_id), "amount": "-88.00",
            "category": "groceries", "channel": "pos", "merchant": "FreshMart"},
        owner=403, other_customer=403, rm_other_book=403),
    # Alerts are for partners and staff who may view alerts, never for customers (no tipping off).
    ("api-risk-alerts", "GET"): everyone((S.RISK_READ,), owner=403, other_customer=403, rm_own_book=403,
                                         rm_other_book=403, support_agent=403),
}


# --- The endpoints, from the URLconf ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    route: str
    parameters: tuple[str, ...]


def api_endpoints() -> dict[tuple[str, str], Endpoint]:
    found: dict[tuple[str, str], Endpoint] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            assert isinstance(pattern, URLPattern)
            if not route.startswith(API_PREFIX):
                continue
            view = pattern.callback.cls
            for method in view.http_method_names:
                if method in ("options", "head") or not hasattr(view, method):
                    continue
                found[(pattern.name, method.upper())] = Endpoint(
                    name=pattern.name, method=method.upper(), route=route,
                    parameters=tuple(pattern.pattern.converters))

    walk(get_resolver().url_patterns, "")
    return found


ENDPOINTS = api_endpoints()


def test_every_api_endpoint_has_a_row_for_every_actor():
    assert len(ENDPOINTS) >= 30
    missing = sorted(set(ENDPOINTS) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(ENDPOINTS))
    assert missing == [], f"API endpoints without a permission-matrix row: {missing}"
    assert stale == [], f"Matrix rows for endpoints that no longer exist: {stale}"
    for key, row in MATRIX.items():
        assert set(row.outcomes) == set(ACTORS), key
        assert set(row.outcomes.values()) <= {OK, *DENIALS}, key
        assert row.outcomes["anonymous"] == 401, key
        assert all(scope in PartnerScope.values for scope in row.scopes), key


# --- The bank ---------------------------------------------------------------------------------------------------

@dataclass
class MatrixBank:
    owner: Any
    other: Any
    account: Any
    card: Any
    application: Any
    message: Any
    conversation: Any
    partner: Any  # the owner consented to it
    stranger: Any  # a partner the owner never consented to (the other customer did)
    answers: dict[str, str]
    users: dict[str, Any] = field(default_factory=dict)


def _staff(username: str, role: str) -> Any:
    from customers.tests.factories import UserFactory

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture(scope="module")
def bank(django_db_setup, django_db_blocker, tmp_path_factory):
    from advisor.applications.models import ApplicationSource
    from advisor.applications.services import submit_application
    from advisor.investing.models import AssessmentChannel
    from advisor.investing.services import advise_allocation, assess_risk
    from advisor.tests.applications_factories import card_product, credit_score, loan_product, profile
    from advisor.tests.test_engagement_services import make_campaign, send
    from advisor.tests.test_investing_services import answers
    from chat.services import start_conversation
    from customers.demo.generator import install_catalogue
    from customers.tests.factories import (
        AccountFactory,
        CustomerFactory,
        PartnerConsentFactory,
        PartnerFactory,
        TransactionFactory,
    )
    from risk.tests.factories import AlertFactory

    folder = tmp_path_factory.mktemp("matrix")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=folder, MODEL_ARTIFACT_DIR=folder / "models",
                                                       CHAT_LLM_BACKEND="none", APPLICATION_DECIDE_SYNC=False):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            install_catalogue()
            users = {actor: _staff(f"matrix-{actor}", role) for actor, role in STAFF_ROLES.items()}
            owner = CustomerFactory(relationship_manager=users["rm_own_book"], email="owner@example.com",
                                    preferred_language="en", declared_annual_income=Decimal("240000"),
                                    kyc_verified_at=datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai")))
            other = CustomerFactory(relationship_manager=users["rm_other_book"], preferred_language="en")
            account = AccountFactory(customer=owner, balance=Decimal("800000.00"))
            AccountFactory(customer=other, balance=Decimal("15000.00"))
            TransactionFactory(account=account)
            profile(owner)
            credit_score(owner, pd=0.02)
            AlertFactory(customer=owner)
            partner = PartnerFactory(name="Consented partner")
            PartnerConsentFactory(customer=owner, partner=partner)
            stranger = PartnerFactory(name="Stranger partner")
            PartnerConsentFactory(customer=other, partner=stranger)
            chosen = answers(boldest=True)
            assess_risk(customer=owner, answers=chosen, channel=AssessmentChannel.API)
            advise_allocation(customer=owner, amount=Decimal("100000"), channel=AssessmentChannel.API)
            application = submit_application(
                customer=owner, product=loan_product(), source=ApplicationSource.API, actor_label="customer",
                actor_user=owner.user, requested_amount=Decimal("20000"), decide_now=False).application
            card = card_product()
            message, _ = send(make_campaign(product=card), owner)
            assert message.status == "delivered"
            conversation = start_conversation(customer=owner, channel=f"partner:{partner.pk}", language="en")
            users["owner"] = owner.user
            users["other_customer"] = other.user
            yield MatrixBank(owner=owner, other=other, account=account, card=card, application=application,
                             message=message, conversation=conversation, partner=partner, stranger=stranger,
                             answers=chosen, users=users)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- Fingerprints -----------------------------------------------------------------------------------------------

def fingerprint() -> dict[str, tuple[int, str]]:
    """table -> (rows, md5 of its rows in a stable order), for every table but the excluded ones."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = sorted(t for t in connection.introspection.table_names(cursor) if t not in EXCLUDED_TABLES)
        selects, params = [], []
        for table in tables:
            skip = EXCLUDED_COLUMNS.get(table)
            if skip:
                columns = [c.name for c in connection.introspection.get_table_description(cursor, table)
                           if c.name not in skip]
                row = f"ROW({', '.join('t.' + quote(c) for c in columns)})::text"
            else:
                row = "t::text"
            selects.append(f"SELECT %s, count(*), md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) "
                           f"FROM {quote(table)} t")
            params.append(table)
        cursor.execute(" UNION ALL ".join(selects), params)
        return {name: (count, digest) for name, count, digest in cursor.fetchall()}


def test_the_fingerprint_sees_a_changed_field_and_a_new_row(bank):
    from customers.models import Customer

    before = fingerprint()
    assert "customers_customer" in before and before["customers_customer"][0] >= 2
    assert not set(EXCLUDED_TABLES) & set(before)
    Customer.objects.filter(pk=bank.owner.pk).update(city="Hangzhou")
    changed = fingerprint()
    assert changed["customers_customer"][0] == before["customers_customer"][0]
    assert changed["customers_customer"][1] != before["customers_customer"][1]
    assert {t for t in before if before[t] != changed[t]} == {"customers_customer"}
    Group.objects.create(name="matrix-probe")
    assert fingerprint()["auth_group"][0] == before["auth_group"][0] + 1


# --- The cases --------------------------------------------------------------------------------------------------

def _client(actor: str, bank: MatrixBank, row: Row) -> APIClient:
    from customers.partners import issue_partner_token

    client = APIClient()
    if actor == "anonymous":
        return client
    if actor.startswith("partner"):
        needed = list(row.scopes) or list(PartnerScope.values)
        if actor == "partner":
            partner, scopes = bank.partner, needed
        elif actor == "partner_no_consent":
            partner, scopes = bank.stranger, needed
        else:  # every scope but the one(s) this endpoint needs
            partner, scopes = bank.partner, [s for s in PartnerScope.values if s not in row.scopes]
        _, secret = issue_partner_token(partner=partner, name=f"matrix {actor}", scopes=scopes)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client
    client.force_login(bank.users[actor])  # a real session (SessionAuthentication), not force_authenticate
    return client


def _path(endpoint: Endpoint, bank: MatrixBank) -> str:
    owned = {
        "public_id": bank.conversation.public_id if endpoint.name.startswith("api-chat-") else bank.owner.public_id,
        "application_id": bank.application.public_id,
        "message_id": bank.message.public_id,
        "code": bank.card.code,
    }
    return reverse(endpoint.name, kwargs={name: owned[name] for name in endpoint.parameters})


CASES = [(name, method, actor) for (name, method) in MATRIX for actor in ACTORS]


@pytest.mark.parametrize(("name", "method", "actor"), CASES, ids=[f"{n}-{m}-{a}" for n, m, a in CASES])
def test_the_matrix(bank, name, method, actor):
    endpoint = ENDPOINTS[(name, method)]
    row = MATRIX[(name, method)]
    expected = row.outcomes[actor] or row.ok
    client = _client(actor, bank, row)
    url = _path(endpoint, bank)

    key = str(uuid.uuid4())
    stored_before = _idempotency_rows()
    audited_before = _last_audit_event_id()
    before = fingerprint()
    if method == "GET":
        response = client.get(url)
    else:
        body = row.body(bank) if row.body else {}
        response = client.generic(method, url, data=json.dumps(body), content_type="application/json",
                                  HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == expected, (response.status_code, response.content[:400])

    if expected in DENIALS:
        error = response.json()["error"]
        assert error["code"] and error["message"]
        after = fingerprint()
        changed = sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))
        assert changed == [], f"a refused {method} {url} by {actor} changed {changed}"
        _assert_only_the_refusal_was_stored(stored_before, key=key, status_code=expected)
        _assert_no_read_or_change_was_audited(after_id=audited_before)
    elif actor in NOT_ENTITLED_TO_OWNER:
        text = response.content.decode()
        for secret in (str(bank.owner.public_id), bank.owner.external_ref, bank.owner.full_name):
            assert secret not in text, f"{actor} learnt {secret!r} from {method} {url}"


def _idempotency_rows() -> dict[int, tuple[Any, ...]]:
    from bank.models import IdempotencyRecord

    return {row[0]: row[1:] for row in IdempotencyRecord.objects.values_list(
        "pk", "caller", "method", "path", "key", "request_sha256", "state", "status_code", "response_body")}


def _assert_only_the_refusal_was_stored(before: dict[int, tuple[Any, ...]], *, key: str, status_code: int) -> None:
    """The Idempotency-Key layer may have recorded this request's refusal under its own key, and nothing else."""
    after = _idempotency_rows()
    assert {pk: after.get(pk) for pk in before} == before, "a stored idempotent answer changed"
    new = [after[pk] for pk in after.keys() - before.keys()]
    assert len(new) <= 1, new
    for _caller, _method, _path, stored_key, _sha, state, stored_status, _body in new:
        assert (stored_key, state, stored_status) == (key, "done", status_code)


def _last_audit_event_id() -> int:
    from bank.models import AuditEvent

    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _assert_no_read_or_change_was_audited(*, after_id: int) -> None:
    from bank.models import AuditEvent

    actions = list(AuditEvent.objects.filter(id__gt=after_id).values_list("action", flat=True))
    assert all(action.endswith((".denied", ".refused")) for action in actions), actions
