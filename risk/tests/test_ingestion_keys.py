"""Retention of the transaction-ingestion Idempotency-Key records (risk.services.monitoring.IngestionRecord): kept
IDEMPOTENCY_KEY_RETENTION_DAYS, purged hourly in bounded batches, and a replay inside the window still answers the
first result after the API's own (24 h) key is gone."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from bank.api.idempotency import purge_expired_keys
from bank.models import IdempotencyRecord
from bank.schedules import SCHEDULES
from customers.models import Transaction
from customers.partners import issue_partner_token
from customers.tests.factories import PartnerConsentFactory, PartnerFactory
from risk.models import Alert, IngestionRecord
from risk.services.monitoring import purge_old_ingestion_records
from risk.tasks import purge_ingestion_keys_task
from risk.tests.factories import history

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/risk/transactions/"
NOON = timezone.localtime().replace(hour=12, minute=30, second=0, microsecond=0)


@pytest.fixture
def partner_client():
    partner = PartnerFactory(name="Card processor")
    account = history()
    PartnerConsentFactory(customer=account.customer, partner=partner)
    _, secret = issue_partner_token(partner=partner, name="t", scopes=["transactions:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, account


def ingest(client, account, key, **changes):
    body = {"customer": str(account.customer.public_id), "account": str(account.public_id), "amount": "-9800.00",
            "category": "groceries", "channel": "pos", "counterparty": "FreshMart Ltd", "timestamp": NOON.isoformat(),
            **changes}
    return client.post(INGEST, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def age(key, *, by):
    IngestionRecord.objects.filter(key=key).update(created_at=timezone.now() - by)


def test_records_older_than_the_retention_are_purged_and_younger_ones_kept(settings, partner_client):
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 7
    client, account = partner_client
    for key in ("old", "young"):
        assert ingest(client, account, key).status_code == 201
    age("old", by=timedelta(days=7, minutes=1))
    age("young", by=timedelta(days=6, hours=23))
    posted = (Transaction.objects.count(), Alert.objects.count())

    assert purge_ingestion_keys_task() == 1
    assert purge_old_ingestion_records() == 0  # a second run finds nothing

    assert list(IngestionRecord.objects.values_list("key", flat=True)) == ["young"]
    # Only the keys go: the transactions and alerts they answered for stay.
    assert (Transaction.objects.count(), Alert.objects.count()) == posted
    assert ("Purge old transaction-ingestion keys", "risk.tasks.purge_ingestion_keys_task") in [
        (name, func) for name, func, *_ in SCHEDULES]


def test_the_purge_deletes_in_bounded_batches(settings, partner_client):
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 7
    client, account = partner_client
    for n in range(6):
        ingest(client, account, f"k-{n}", amount=f"-{100 + n}.00")
    IngestionRecord.objects.exclude(key="k-5").update(created_at=timezone.now() - timedelta(days=8))

    with CaptureQueriesContext(connection) as queries:
        assert purge_old_ingestion_records(batch_size=2) == 5

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3 and all("LIMIT 2" in sql for sql in deletes)
    assert list(IngestionRecord.objects.values_list("key", flat=True)) == ["k-5"]


def test_a_replay_inside_the_retention_answers_the_first_result_after_the_api_key_is_purged(settings, partner_client):
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 7
    client, account = partner_client
    first = ingest(client, account, "k-1")
    assert first.status_code == 201 and first.json()["decision"] == "review"
    # Three days later: the API's own key (24 h) has expired and been purged; the ingestion record has not.
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    age("k-1", by=timedelta(days=3))
    assert purge_expired_keys() == 1 and purge_old_ingestion_records() == 0
    before = (Transaction.objects.count(), Alert.objects.count(), IngestionRecord.objects.count())

    again = ingest(client, account, "k-1")

    assert again.status_code == 201
    assert again.json() == {**first.json(), "replayed": True}
    assert (Transaction.objects.count(), Alert.objects.count(), IngestionRecord.objects.count()) == before
