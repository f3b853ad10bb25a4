"""The OpenAPI schema documents every endpoint, and the API keeps to it (schemathesis)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ilios.models import ApiKey

# The promises: no input makes a 5xx, and every answer is one the schema documents.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

DOCUMENTED = {
    ("post", "/v1/convert"),
    ("post", "/v1/documents"),
    ("get", "/v1/documents"),
    ("get", "/v1/documents/{document_id}/status"),
    ("get", "/v1/documents/{document_id}"),
    ("delete", "/v1/documents/{document_id}"),
    ("get", "/v1/documents/{document_id}/original"),
    ("post", "/v1/documents/upload-url"),
    ("post", "/v1/documents/{document_id}/upload-complete"),
    ("post", "/api/documents/submit"),
    ("get", "/api/documents/status/{document_id}"),
    ("get", "/api/documents/{document_id}"),
    ("get", "/api/documents/{document_id}/original"),
    ("post", "/api/documents/upload-url"),
    ("post", "/api/documents/upload-complete/{document_id}"),
    ("post", "/v1/batch/submit"),
    ("get", "/v1/batch/status/{batch_id}"),
    ("get", "/v1/batch/download/{batch_id}"),
    ("delete", "/v1/batch/{batch_id}"),
    ("get", "/v1/usage/summary"),
    ("get", "/v1/usage/breakdown"),
    ("get", "/api/usage/summary"),
    ("get", "/api/usage/breakdown"),
    ("get", "/health"),
    ("get", "/"),
}


def test_every_endpoint_is_in_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    operations = {(method, path) for path, methods in paths.items() for method in methods}
    assert operations >= DOCUMENTED


@pytest.fixture
def key(transactional_db):
    return ApiKey.generate("schemathesis")[1]


@pytest.fixture
def live_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_to_its_schema(case, key):
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
