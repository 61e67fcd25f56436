"""The OpenAPI schema: generated without a warning, valid, complete, and served with its docs page."""

import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

ENDPOINTS = {
    "/api/v1/products/": 200,
    "/api/v1/products/{code}/": 200,
    "/api/v1/customers/me/": 200,
    "/api/v1/customers/{public_id}/": 200,
    "/api/v1/customers/{public_id}/accounts/": 200,
    "/api/v1/customers/{public_id}/transactions/": 200,
    "/api/v1/customers/{public_id}/holdings/": 200,
}


@pytest.fixture(autouse=True)
def _fresh_generator_stats():
    # drf-spectacular counts warnings process-wide; start each test from zero so that a warning is this one's.
    reset_generator_stats()
    yield
    reset_generator_stats()


def test_schema_generates_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.yaml"

    # --fail-on-warn raises on any warning or error; --validate checks it against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(ENDPOINTS) <= set(schema["paths"])


def test_every_endpoint_is_documented_with_its_errors_and_authentication():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert schema["components"]["securitySchemes"]["partnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "bpk_<prefix>_<secret>",
        "description": "A partner API token. Issue one with `manage.py issue_partner_token`.",
    }
    for path in ENDPOINTS:
        operation = schema["paths"][path]["get"]
        assert {"partnerToken": []} in operation["security"], path
        assert {"401", "403"} <= set(operation["responses"]), path
        assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }
    for path in ["/api/v1/products/", "/api/v1/customers/{public_id}/transactions/"]:
        assert "400" in schema["paths"][path]["get"]["responses"]
    for path in [p for p in ENDPOINTS if "{" in p]:
        assert "404" in schema["paths"][path]["get"]["responses"]


def test_every_operation_documents_the_503_of_an_unreachable_database():
    # bank.resilience answers every /api/ request with this 503 while the database is down, whatever the view.
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [(path, method, operation) for path, item in schema["paths"].items()
                  for method, operation in item.items() if method in {"get", "put", "patch", "post", "delete"}]

    assert len(operations) >= len(ENDPOINTS)
    for path, method, operation in operations:
        unavailable = operation["responses"].get("503")
        assert unavailable is not None, (method, path)
        assert "code service_unavailable" in unavailable["description"], (method, path)
        assert unavailable["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
        assert unavailable["headers"]["Retry-After"]["schema"] == {"type": "integer", "example": 5}, (method, path)
    # An operation's own 503 keeps its reason, gains the database's, and does not require Retry-After (only the
    # database's answer sends it); everywhere else Retry-After is required.
    recommendations = schema["paths"]["/api/v1/customers/{public_id}/recommendations/"]["get"]["responses"]["503"]
    assert recommendations["description"].startswith("The service needs something that is not ready yet")
    assert "required" not in recommendations["headers"]["Retry-After"]
    products = schema["paths"]["/api/v1/products/"]["get"]["responses"]["503"]
    assert products["headers"]["Retry-After"]["required"] is True
    assert products["content"]["application/json"]["example"]["error"]["code"] == "service_unavailable"


def test_product_list_parameters_are_documented():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}

    assert set(parameters) == {
        "q",
        "understand",
        "type",
        "risk_level_max",
        "currency",
        "term_months_max",
        "min_amount_max",
        "ordering",
        "page",
        "page_size",
    }
    assert parameters["risk_level_max"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert parameters["type"]["schema"]["items"]["enum"] == [
        "bond",
        "credit_card",
        "deposit",
        "fund",
        "insurance",
        "loan",
        "wealth",
    ]
    item = schema["components"]["schemas"]["ProductListItemOut"]["properties"]
    assert item["score"] == {
        "type": "number",
        "format": "double",
        "nullable": True,
        "readOnly": True,
        "description": "Hybrid relevance; higher is better. Null without q.",
    }
    assert item["expected_return_min"]["type"] == "string"
    assert item["expected_return_min"]["format"] == "decimal"
    assert parameters["understand"]["schema"] == {"type": "boolean", "default": True}
    understood = schema["components"]["schemas"]["PaginatedProductListItemOutList"]["properties"]["understood"]
    assert understood["nullable"] is True
    assert understood["required"] == ["applied", "constraints", "en", "zh"]


def test_customer_id_is_a_uuid_path_parameter():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in [p for p in ENDPOINTS if "{public_id}" in p]:
        (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert parameter["name"] == "public_id"
        assert parameter["schema"] == {"type": "string", "format": "uuid"}


@pytest.mark.django_db
def test_docs_page_and_schema_are_served():
    client = APIClient()

    docs = client.get("/api/docs/")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert docs.status_code == 200
    assert "swagger-ui" in docs.content.decode()
    assert schema.status_code == 200
    assert set(ENDPOINTS) <= set(schema.json()["paths"])


@pytest.mark.django_db
def test_docs_page_loads_everything_from_this_origin_under_the_strict_policy():
    client = APIClient()

    page = client.get("/api/docs/")
    html = page.content.decode()
    script = client.get("/api/docs/?script=")

    # The same policy as the portal: own-origin scripts only, no inline script.
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert re.search(r"<script>\s*\S", html) is None and "<style" not in html  # nothing inline
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
