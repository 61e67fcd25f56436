"""Request ids: taken from a valid X-Request-ID or made, returned, on every log line, carried into tasks."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest
from django.conf import settings
from django.utils.module_loading import import_string
from django_guid import clear_guid, get_guid, set_guid
from django_q.tasks import async_task, result

from customers.models import PartnerScope
from customers.partners import issue_partner_token
from customers.tests.factories import PartnerFactory, UserFactory

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def _from_logging_settings(spec: dict) -> object:
    return import_string(spec["()"])()


@pytest.fixture
def json_log():
    """The console handler as settings.LOGGING builds it with LOG_FORMAT=json (same formatter, same filters, in
    order), on the loggers these tests write to; returns the lines written, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_from_logging_settings(settings.LOGGING["formatters"]["json"]))
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(_from_logging_settings(settings.LOGGING["filters"][name]))
    loggers = [logging.getLogger(name) for name in ("bank.access", "bank.worker", __name__)]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for log, level in zip(loggers, levels, strict=True):
        log.removeHandler(handler)
        log.setLevel(level)


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one(client):
    response = client.get("/login/")
    assert HEX_ID.match(response["X-Request-ID"])


@pytest.mark.django_db
def test_a_valid_incoming_id_is_kept_and_is_on_the_requests_log_lines(client, json_log):
    incoming = str(uuid.uuid4())

    response = client.get("/login/", HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] == incoming
    (line,) = json_log()
    assert line == {
        "timestamp": line["timestamp"], "level": "INFO", "logger": "bank.access",
        "message": line["message"], "request_id": incoming, "user_id": None, "partner_id": None,
        "status_code": 200,
    }
    assert re.match(r"^GET /login/ 200 \d+\.\d ms$", line["message"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$", line["timestamp"])


@pytest.mark.parametrize("incoming", ["not-a-uuid", "x" * 300, "abc\r\nX-Injected: 1", "'; DROP TABLE x; --"])
@pytest.mark.django_db
def test_an_invalid_incoming_id_is_replaced(client, incoming):
    response = client.get("/login/", HTTP_X_REQUEST_ID=incoming)
    assert HEX_ID.match(response["X-Request-ID"])


@pytest.mark.django_db
def test_log_lines_name_the_logged_in_user_by_id(client, json_log):
    user = UserFactory()
    client.force_login(user)

    client.get("/")

    assert json_log()[-1]["user_id"] == user.pk


@pytest.mark.django_db
def test_log_lines_name_the_partner_of_an_api_token(client, json_log):
    partner = PartnerFactory()
    _, secret = issue_partner_token(partner=partner, name="logs", scopes=[PartnerScope.PRODUCTS_READ])

    response = client.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
    line = json_log()[-1]
    assert (line["partner_id"], line["request_id"]) == (partner.pk, response["X-Request-ID"])


def test_json_lines_are_masked_like_the_plain_ones(json_log):
    log = logging.getLogger(__name__)
    try:
        raise ValueError("card 4111 1111 1111 1111 declined")
    except ValueError:
        log.exception("Charging card 4111-1111-1111-1111 for +86 138 0013 8000")

    (line,) = json_log()
    assert line["message"] == "Charging card •••• •••• •••• 1111 for •••• 8000"
    assert "4111 1111 1111 1111" not in line["exc_info"] and "•••• •••• •••• 1111 declined" in line["exc_info"]
    assert line["request_id"] is None


def request_id_inside_the_task() -> str | None:
    logging.getLogger(__name__).info("working")
    return get_guid()


@pytest.mark.django_db
def test_a_task_queued_during_a_request_runs_and_logs_under_its_id(json_log):
    set_guid("0123456789abcdef0123456789abcdef")
    try:
        # sync: the worker code path (pre_execute … post_execute_in_worker) in this process.
        task_id = async_task(f"{__name__}.request_id_inside_the_task", sync=True)
        assert get_guid() == "0123456789abcdef0123456789abcdef"  # the request's id is back afterwards
    finally:
        clear_guid()

    assert result(task_id) == "0123456789abcdef0123456789abcdef"
    lines = [(line["logger"], re.sub(r" after .*|: .*", "", line["message"]), line["request_id"])
             for line in json_log()]
    assert lines == [
        ("bank.worker", f"Task {task_id} started", "0123456789abcdef0123456789abcdef"),
        (__name__, "working", "0123456789abcdef0123456789abcdef"),
        ("bank.worker", f"Task {task_id} succeeded", "0123456789abcdef0123456789abcdef"),
    ]


@pytest.mark.django_db
def test_a_task_queued_outside_a_request_runs_under_its_own_id():
    task_id = async_task(f"{__name__}.request_id_inside_the_task", sync=True)
    assert result(task_id) == task_id
    assert get_guid() is None  # and nothing lingers in the process that ran it
