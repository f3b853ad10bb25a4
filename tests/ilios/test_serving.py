"""gunicorn started exactly as `make run` starts it serves the API, and logs no secret."""

import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


SECRET = "never-log-this-key"


def test_gunicorn_serves_the_api_and_logs_no_key(api_server):
    server = api_server()

    with urllib.request.urlopen(f"{server.url}/v1/documents?apiKey={SECRET}") as response:
        assert response.status == 200  # an open server ignores the key, but must not log it
    server.stop()

    logged = server.log.read_text()
    assert "GET /v1/documents" in logged
    assert SECRET not in logged
