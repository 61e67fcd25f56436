"""Regression tests for what the schema fuzzer and bandit found (tests/test_schema_fuzz.py, `make audit`)."""

import pytest
from rest_framework.test import APIClient

from bank.api.errors import InvalidParameter, raise_first_error
from bank.llm import LLMError, OpenAICompatible
from customers.tests.factories import CustomerFactory


def test_a_nested_field_error_names_the_parameter_instead_of_crashing():
    # A DictField child's errors are a dict, not a list: this was a KeyError (500).
    with pytest.raises(InvalidParameter) as raised:
        raise_first_error({"answers": {"horizon": ["Not a valid string."]}})

    assert raised.value.detail == {"answers": ["horizon: Not a valid string."]}


def test_the_llm_client_refuses_a_url_that_is_not_http():
    with pytest.raises(LLMError, match="must be an http"):
        OpenAICompatible(url="file:///etc/passwd", model="", api_key="", timeout=1)


@pytest.fixture
def customer_client(db):
    customer = CustomerFactory()
    client = APIClient()
    client.force_login(customer.user)
    return client, customer


def test_a_malformed_application_id_is_a_404_not_a_500(customer_client):
    client, customer = customer_client

    response = client.get(f"/api/v1/customers/{customer.public_id}/applications/not-a-uuid/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_risk_answer_of_the_wrong_type_is_a_400_naming_it(customer_client):
    client, customer = customer_client

    response = client.post(f"/api/v1/customers/{customer.public_id}/risk-profile/",
                           {"answers": {"horizon": {"nested": 1}}}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["details"] == {"answers": ["horizon: Not a valid string."]}
    assert customer.risk_assessments.count() == 0
