import re
from pathlib import Path

import pytest
from django.db import DatabaseError

from ilios import health
from tests.s3 import start_moto, use_bucket

pytestmark = pytest.mark.django_db


def test_health_reports_every_service(client):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["services"]["database"] == "connected"
    assert body["services"]["s3"] == "not configured"
    assert body["services"]["storage"] == {"backend": "local", "status": "available"}
    assert body["services"]["engine"] == "local"
    assert body["services"]["workers"] == {"active": 0, "pendingJobs": 0}


def test_health_says_what_the_original_said_of_its_bucket(client, settings, monkeypatch):
    server, endpoint = start_moto()
    try:
        use_bucket(settings, monkeypatch, endpoint)
        body = client.get("/health").json()
    finally:
        server.stop()
    assert body["status"] == "healthy"
    assert {"database": "connected", "s3": "configured"}.items() <= body["services"].items()
    assert body["services"]["storage"] == {"backend": "s3", "status": "available"}


def test_health_is_503_when_the_database_is_unreachable(client, monkeypatch):
    class Unreachable:
        def __enter__(self):
            raise DatabaseError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Unreachable())
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["services"]["database"] == "unreachable"


def readme_api_table() -> set[str]:
    """`METHOD /path` of every row of the README's API table (the alias in brackets aside)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## API", 1)[1].split("\n\n")[2]
    rows = re.findall(r"^\| (GET|POST|DELETE|PUT|PATCH) \| `([^`]+)`", table, flags=re.MULTILINE)
    return {f"{method} {path}" for method, path in rows}


def test_the_index_lists_every_operation_the_urlconf_serves(client):
    endpoints = client.get("/").json()["endpoints"]
    assert endpoints["POST /v1/convert"].startswith("Convert a file now")
    assert "GET /v1/documents/{document_id}/status" in endpoints
    assert not any(path.split()[1].startswith("/api/") for path in endpoints), "aliases left out"


def test_the_readme_lists_the_same_api_as_the_index(client):
    endpoints = client.get("/").json()["endpoints"]
    api = {endpoint for endpoint in endpoints if endpoint not in health.PAGES}
    assert readme_api_table() == api
