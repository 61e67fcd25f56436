"""Feedback and transaction ingestion acknowledge a write only once it is committed.

The two endpoints that take in data from outside (recommendation feedback, and partners' transactions for
monitoring) write inside transaction.atomic() — the service's own, or bank.api.idempotency's around the whole view
when an Idempotency-Key is sent — and build their 2xx only after that block has exited, that is after COMMIT
returned. To prove it, PostgreSQL is made to refuse the COMMIT itself: a deferred constraint trigger (checked at
commit, like Django's deferred foreign keys) raises for every new row. The client must then get no 2xx and nothing
may be written; the same request once the fault is gone gets its 201, exactly once. And a 2xx'd write is visible
to another connection as soon as the response is in hand.

Transactional tests: a commit has to really happen (see tests/test_concurrency.py on serialized_rollback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from bank.models import IdempotencyRecord
from customers.models import ProductInteraction, Transaction
from customers.partners import issue_partner_token
from customers.tests.factories import CustomerFactory, PartnerConsentFactory, PartnerFactory
from products.tests.factories import ProductFactory

TRANSACTIONAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)
INGEST = "/api/v1/risk/transactions/"
# What the COMMIT fails with: a constraint checked at commit (IntegrityError: a 500, the request was wrong for the
# data) and a serialization failure, which PostgreSQL also reports at commit under SERIALIZABLE (OperationalError:
# a 503 with Retry-After from bank.resilience, the request may simply be retried).
REFUSALS = [pytest.param("23514", 500, id="constraint-at-commit"),
            pytest.param("40001", 503, id="serialization-failure-at-commit")]


@contextmanager
def commit_refused(table: str, sqlstate: str) -> Iterator[None]:
    """Every transaction that inserted into `table` fails at COMMIT with `sqlstate` while this is active."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION fault_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'refused at commit (fault test)' USING ERRCODE = TG_ARGV[0]; END $$"
        )
        cursor.execute(
            f"CREATE CONSTRAINT TRIGGER fault_refuse_commit AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION fault_refuse_commit(%s)", [sqlstate]
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS fault_refuse_commit ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS fault_refuse_commit()")


def _other_connection() -> psycopg.Connection:
    """A connection of its own (not Django's): it sees only what was committed."""
    params = connection.get_connection_params()
    return psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"},
                           autocommit=True)


def _assert_not_acknowledged(response, expected: int) -> None:
    assert response.status_code == expected
    if expected == 503:
        assert response["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "service_unavailable"


# --- Feedback -------------------------------------------------------------------------------------------------


def _feedback_client():
    customer = CustomerFactory()
    product = ProductFactory()
    client = APIClient(raise_request_exception=False)  # a 500 is an answer here, not an error of the test
    client.force_authenticate(user=customer.user)
    url = f"/api/v1/customers/{customer.public_id}/recommendations/feedback/"
    return client, url, {"product": product.code, "event": "click"}


@TRANSACTIONAL
@pytest.mark.parametrize("sqlstate, expected", REFUSALS)
@pytest.mark.parametrize("key", ["fb-1", None], ids=["with-key", "without-key"])
def test_feedback_refused_at_commit_is_not_acknowledged_and_leaves_nothing(sqlstate, expected, key):
    client, url, body = _feedback_client()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}

    with commit_refused("customers_productinteraction", sqlstate):
        refused = client.post(url, body, format="json", **headers)

    _assert_not_acknowledged(refused, expected)
    assert ProductInteraction.objects.count() == 0
    # The key was released (a refusal at commit is a 5xx, which is not kept), so the retry below runs for real.
    assert IdempotencyRecord.objects.count() == 0

    retried = client.post(url, body, format="json", **headers)

    assert retried.status_code == 201 and retried.json()["replayed"] is False
    assert list(ProductInteraction.objects.values_list("id", flat=True)) == [retried.json()["id"]]


@TRANSACTIONAL
def test_acknowledged_feedback_is_visible_to_another_connection_at_once():
    client, url, body = _feedback_client()

    response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="fb-visible")

    assert response.status_code == 201
    with _other_connection() as other:
        row = other.execute("SELECT event FROM customers_productinteraction WHERE id = %s",
                            [response.json()["id"]]).fetchone()
        stored = other.execute("SELECT state, status_code FROM bank_idempotencyrecord WHERE key = %s",
                               ["fb-visible"]).fetchone()
    assert row == ("click",)
    assert stored == ("done", 201)


# --- Transaction ingestion ------------------------------------------------------------------------------------


def _ingest_client():
    from risk.monitoring.engine import reset_monitor
    from risk.tests.factories import history

    reset_monitor()  # the monitor caches rules and histories per process; start from this test's data
    partner = PartnerFactory(name="Card processor")
    account = history(days=20)
    PartnerConsentFactory(customer=account.customer, partner=partner)
    _, secret = issue_partner_token(partner=partner, name="fault test", scopes=["transactions:write"])
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    noon = timezone.localtime().replace(hour=12, minute=30, second=0, microsecond=0)
    body = {"customer": str(account.customer.public_id), "account": str(account.public_id), "amount": "-104.50",
            "category": "groceries", "channel": "pos", "counterparty": "FreshMart Ltd", "timestamp": noon.isoformat(),
            "external_ref": "card-42"}
    return client, body


@TRANSACTIONAL
@pytest.mark.parametrize("sqlstate, expected", REFUSALS)
@pytest.mark.parametrize("key", ["tx-1", None], ids=["with-key", "without-key"])
def test_a_transaction_refused_at_commit_is_not_acknowledged_and_leaves_nothing(sqlstate, expected, key):
    from risk.models import Alert, IngestionRecord

    client, body = _ingest_client()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    before = Transaction.objects.count()

    with commit_refused("customers_transaction", sqlstate):
        refused = client.post(INGEST, body, format="json", **headers)

    _assert_not_acknowledged(refused, expected)
    assert Transaction.objects.count() == before
    assert not Transaction.objects.filter(external_ref="card-42").exists()
    assert (Alert.objects.count(), IngestionRecord.objects.count(), IdempotencyRecord.objects.count()) == (0, 0, 0)

    retried = client.post(INGEST, body, format="json", **headers)

    assert retried.status_code == 201
    assert retried.json()["decision"] == "accept" and retried.json()["replayed"] is False
    posted = Transaction.objects.get(external_ref="card-42")
    assert posted.pk == retried.json()["transaction"] and posted.amount == Decimal("-104.50")
    assert Transaction.objects.count() == before + 1


@TRANSACTIONAL
def test_an_acknowledged_transaction_is_visible_to_another_connection_at_once():
    client, body = _ingest_client()

    response = client.post(INGEST, body, format="json", HTTP_IDEMPOTENCY_KEY="tx-visible")

    assert response.status_code == 201
    with _other_connection() as other:
        row = other.execute("SELECT amount, external_ref FROM customers_transaction WHERE id = %s",
                            [response.json()["transaction"]]).fetchone()
        ingested = other.execute("SELECT status_code FROM risk_ingestionrecord WHERE key = %s",
                                 ["tx-visible"]).fetchone()
    assert row == (Decimal("-104.50"), "card-42")
    assert ingested == (201,)
