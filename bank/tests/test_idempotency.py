"""Idempotency-Key on every state-changing POST (bank.api.idempotency): replays, reuse, errors, expiry, and 50
concurrent duplicates with exactly one effect."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from bank.api.idempotency import (
    REPLAYED_HEADER,
    Claimed,
    caller_of,
    claim_key,
    purge_expired_keys,
    request_fingerprint,
)
from bank.models import IdempotencyRecord
from bank.schedules import SCHEDULES
from bank.tasks import purge_idempotency_keys_task
from chat.models import Conversation
from customers.models import ProductInteraction
from customers.tests.factories import CustomerFactory
from products.tests.factories import ProductFactory


def feedback_url(customer) -> str:
    return f"/api/v1/customers/{customer.public_id}/recommendations/feedback/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def post(client: APIClient, url: str, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, format="json", **headers)


# --- Pure -----------------------------------------------------------------------------------------------------


def test_the_fingerprint_ignores_field_order_and_tells_bodies_and_queries_apart():
    same = request_fingerprint(data={"a": 1, "b": [1, 2]}, query={})

    assert request_fingerprint(data={"b": [1, 2], "a": 1}, query={}) == same
    assert request_fingerprint(data={"a": 1, "b": [2, 1]}, query={}) != same
    assert request_fingerprint(data={"a": 1, "b": [1, 2]}, query={"k": "5"}) != same
    assert len(same) == 64


def test_the_caller_is_the_partner_of_a_token_else_the_user():
    class Token:
        partner_id = 7

    class User:
        pk, is_authenticated = 3, True

    class Anonymous:
        pk, is_authenticated = None, False

    class Request:
        def __init__(self, user, auth=None):
            self.user, self.auth = user, auth

    assert caller_of(Request(User(), Token())) == "partner:7"
    assert caller_of(Request(User())) == "user:3"
    assert caller_of(Request(Anonymous())) is None


def _api_post_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), getattr(pattern.callback, "cls", None)

    return [(route, view) for route, view in walk(get_resolver().url_patterns)
            if route.startswith("api/v1/") and view is not None and hasattr(view, "post")]


def test_every_post_endpoint_of_the_api_takes_an_idempotency_key():
    views = _api_post_views()

    assert len(views) >= 14
    assert [route for route, view in views if not getattr(view.post, "idempotent", False)] == []


def test_the_schema_documents_the_header_and_its_answers_on_every_post():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}

    assert len(posts) == len(_api_post_views())
    for path, operation in posts.items():
        headers = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(headers) == 1 and headers[0]["schema"] == {"type": "string", "maxLength": 200}, path
        assert {"400", "409", "422"} <= set(operation["responses"]), path
        assert "idempotency_request_in_flight" in operation["responses"]["409"]["description"], path
        assert "idempotency_key_reused" in operation["responses"]["422"]["description"], path


@pytest.mark.django_db
def test_a_key_over_200_characters_is_a_400_and_runs_nothing():
    customer = CustomerFactory()
    product = ProductFactory()

    response = post(client_for(customer.user), feedback_url(customer), {"product": product.code, "event": "click"},
                    key="k" * 201)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"Idempotency-Key": ["At most 200 characters."]}
    assert not ProductInteraction.objects.exists() and not IdempotencyRecord.objects.exists()


# --- One endpoint, one key ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_stored_answer_with_one_effect():
    customer = CustomerFactory()
    product = ProductFactory()
    client = client_for(customer.user)
    body = {"product": product.code, "event": "click"}

    first = post(client, feedback_url(customer), body)
    again = post(client, feedback_url(customer), body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["replayed"] is False and REPLAYED_HEADER not in first
    assert again.json() == {**first.json(), "replayed": True} and again[REPLAYED_HEADER] == "true"
    assert ProductInteraction.objects.filter(customer=customer).count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.caller, record.method, record.path, record.key, record.state, record.status_code) == (
        f"user:{customer.user.pk}", "POST", feedback_url(customer), "key-1", "done", 201)


@pytest.mark.django_db
def test_another_endpoint_type_replays_its_answer_byte_for_byte():
    customer = CustomerFactory()
    client = client_for(customer.user)

    first = post(client, "/api/v1/chat/sessions/", {"language": "en"})
    again = post(client, "/api/v1/chat/sessions/", {"language": "en"})
    fresh = post(client, "/api/v1/chat/sessions/", {"language": "en"}, key="key-2")

    assert (first.status_code, again.status_code, fresh.status_code) == (201, 201, 201)
    assert again.content == first.content and again[REPLAYED_HEADER] == "true"
    assert fresh.json()["id"] != first.json()["id"]
    assert Conversation.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_and_writes_nothing():
    customer = CustomerFactory()
    product, another = ProductFactory(), ProductFactory()
    client = client_for(customer.user)
    post(client, feedback_url(customer), {"product": product.code, "event": "click"})
    before = (ProductInteraction.objects.count(), IdempotencyRecord.objects.count())

    reused = post(client, feedback_url(customer), {"product": another.code, "event": "click"})

    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert (ProductInteraction.objects.count(), IdempotencyRecord.objects.count()) == before


@pytest.mark.django_db
def test_keys_belong_to_their_caller_and_requests_without_one_run_every_time():
    customer, someone = CustomerFactory(), CustomerFactory()
    product = ProductFactory()
    body = {"product": product.code, "event": "click"}

    mine = post(client_for(customer.user), feedback_url(customer), body, key="shared")
    theirs = post(client_for(someone.user), feedback_url(someone), body, key="shared")
    unkeyed = [post(client_for(customer.user), feedback_url(customer), body, key=None) for _ in range(2)]

    assert (mine.status_code, theirs.status_code) == (201, 201) and REPLAYED_HEADER not in theirs
    assert [r.status_code for r in unkeyed] == [201, 201]
    assert ProductInteraction.objects.filter(customer=customer).count() == 3
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_an_error_answer_is_stored_and_replayed_even_once_the_request_would_succeed():
    customer = CustomerFactory()
    client = client_for(customer.user)
    body = {"product": "NEW-PRODUCT", "event": "click"}

    first = post(client, feedback_url(customer), body)
    ProductFactory(code="NEW-PRODUCT")
    again = post(client, feedback_url(customer), body)

    assert first.status_code == 400 and first.json()["error"]["details"] == {"product": ["No product has this code."]}
    assert again.status_code == 400 and again.content == first.content and again[REPLAYED_HEADER] == "true"
    assert not ProductInteraction.objects.exists()


@pytest.mark.django_db
def test_an_unexpected_error_is_not_stored_its_writes_are_undone_and_a_retry_runs(monkeypatch):
    from advisor import services

    customer = CustomerFactory()
    product = ProductFactory()
    client = client_for(customer.user)
    client.raise_request_exception = False
    body = {"product": product.code, "event": "click"}
    real = services.record_feedback

    def fails_after_writing(**kwargs):
        real(**kwargs)
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(services, "record_feedback", fails_after_writing)
    failed = post(client, feedback_url(customer), body)
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists() and not ProductInteraction.objects.exists()

    monkeypatch.setattr(services, "record_feedback", real)
    retried = post(client, feedback_url(customer), body)
    assert retried.status_code == 201 and REPLAYED_HEADER not in retried
    assert ProductInteraction.objects.count() == 1


@pytest.mark.django_db
def test_a_duplicate_of_a_request_in_flight_is_a_409_until_the_claim_is_stale(settings):
    customer = CustomerFactory()
    product = ProductFactory()
    client = client_for(customer.user)
    body = {"product": product.code, "event": "click"}
    held = claim_key(caller=f"user:{customer.user.pk}", method="POST", path=feedback_url(customer), key="key-1",
                     fingerprint=request_fingerprint(data=body, query={}))
    assert isinstance(held, Claimed)

    busy = post(client, feedback_url(customer), body)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_request_in_flight"
    assert not ProductInteraction.objects.exists()

    # The holder's process died: after IDEMPOTENCY_IN_FLIGHT_SECONDS a retry takes the claim over and runs.
    stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    IdempotencyRecord.objects.update(claimed_at=stale)
    taken = post(client, feedback_url(customer), body)
    assert taken.status_code == 201 and ProductInteraction.objects.count() == 1
    assert IdempotencyRecord.objects.get().claim != held.token


@pytest.mark.django_db
def test_keys_expire_after_the_ttl_and_are_purged(settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    customer = CustomerFactory()
    product = ProductFactory()
    client = client_for(customer.user)
    before = timezone.now()
    post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key="old")
    post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key="young")
    record = IdempotencyRecord.objects.get(key="old")
    assert before + timedelta(hours=24) <= record.expires_at <= timezone.now() + timedelta(hours=24)

    IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    # Expired but not purged yet: this layer treats the key as new and runs the view again; the feedback
    # service's own key (ProductInteraction.idempotency_key, which does not expire) is the second line of defence
    # and answers as a replay (200) without writing.
    again = post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key="old")
    assert again.status_code == 200 and again.json()["replayed"] is True and REPLAYED_HEADER not in again
    assert ProductInteraction.objects.count() == 2
    renewed = IdempotencyRecord.objects.get(key="old")
    assert renewed.pk != record.pk and renewed.status_code == 200 and renewed.expires_at > timezone.now()

    IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_expired_keys() == 1
    assert purge_idempotency_keys_task() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert ("Purge expired idempotency keys", "bank.tasks.purge_idempotency_keys_task") in [
        (name, func) for name, func, *_ in SCHEDULES]


@pytest.mark.django_db
def test_the_purge_deletes_expired_keys_in_bounded_batches_and_live_keys_still_replay():
    customer = CustomerFactory()
    product = ProductFactory()
    client = client_for(customer.user)
    for n in range(5):
        post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key=f"old-{n}")
    first = post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key="live")
    IdempotencyRecord.objects.exclude(key="live").update(expires_at=timezone.now() - timedelta(seconds=1))
    interactions = ProductInteraction.objects.count()

    with CaptureQueriesContext(connection) as queries:
        assert purge_expired_keys(batch_size=2) == 5

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3 and all("LIMIT 2" in sql for sql in deletes)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["live"]
    again = post(client, feedback_url(customer), {"product": product.code, "event": "click"}, key="live")
    assert (again.status_code, again[REPLAYED_HEADER]) == (first.status_code, "true")
    assert again.json() == {**first.json(), "replayed": True}
    assert ProductInteraction.objects.count() == interactions


# --- Concurrency ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_duplicates_have_exactly_one_effect(settings):
    settings.API_RATE_LIMIT_ENABLED = False
    customer = CustomerFactory()
    product = ProductFactory()
    body = {"product": product.code, "event": "purchase"}
    threads_count = 50
    start = threading.Barrier(threads_count)
    responses: list = [None] * threads_count

    def send(i: int) -> None:
        client = client_for(customer.user)
        try:
            start.wait()
            responses[i] = post(client, feedback_url(customer), body, key="once")
        finally:
            connection.close()  # each thread has its own connection; give it back

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ProductInteraction.objects.filter(customer=customer, product=product).count() == 1
    assert IdempotencyRecord.objects.filter(state="done").count() == 1
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409} and statuses.count(201) >= 1
    successes = [r.json() for r in responses if r.status_code == 201]
    first = next(r for r in successes if r["replayed"] is False)
    assert [r for r in successes if r["replayed"] is False] == [first]
    assert all(r == {**first, "replayed": True} for r in successes if r is not first)
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} <= {"idempotency_request_in_flight"}
    print(f"50 concurrent duplicates: {statuses.count(201)} × 201 (1 original), {statuses.count(409)} × 409")
