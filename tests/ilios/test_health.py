import pytest
from django.db import DatabaseError

from ilios import health

pytestmark = pytest.mark.django_db


def test_health_reports_every_service(client):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["services"]["database"] == "connected"
    assert body["services"]["storage"] == "local"
    assert body["services"]["engine"] == "local"
    assert body["services"]["workers"] == {"active": 0, "pendingJobs": 0}


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


def test_the_index_lists_the_endpoints(client):
    endpoints = client.get("/").json()["endpoints"]
    assert "POST /v1/convert" in endpoints and "GET /health" in endpoints
