"""One error shape everywhere, no stack traces to clients, and every code documented."""

import re

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_an_unknown_path_is_a_json_404(client):
    assert_error_shape(client.get("/v1/nothing-here"), 404)


def test_a_wrong_method_is_a_json_405(api):
    error = assert_error_shape(api.put("/v1/documents"), 405)
    assert error["code"] == "method_not_allowed"


def test_a_missing_file_is_a_400_naming_the_field(api):
    error = assert_error_shape(api.post("/v1/documents", {}, format="multipart"), 400)
    assert error["code"] == "invalid_request"
    assert "file" in error["details"]


def test_an_unexpected_exception_is_a_json_500_without_a_trace(api, monkeypatch):
    from documents import services

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "visible_documents", explode)
    error = assert_error_shape(api.get("/v1/documents"), 500)
    assert "secret internals" not in str(error)
    assert error["code"] == "internal_error"


def test_throttling_answers_429_with_retry_after(api, settings):
    settings.THROTTLE_RATE = "2/minute"
    for _ in range(2):
        assert api.get("/v1/documents").status_code == 200
    response = api.get("/v1/documents")
    error = assert_error_shape(response, 429)
    assert error["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_throttling_is_off_by_default(api):
    for _ in range(30):
        assert api.get("/v1/documents").status_code == 200


def codes_raised_in_the_product() -> set[str]:
    """Every error code the product's code spells out: ApiError(status, "code", ...) calls and
    the `code`/`default_code` attributes of its exception classes."""
    codes: set[str] = set()
    for app in ("ilios", "documents", "batches", "usage", "jobs"):
        for path in (REPO / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            codes |= set(re.findall(r'ApiError\(\s*[^,()]+(?:\([^)]*\))?,\s*"([a-z_]+)"', source))
            codes |= set(re.findall(r'\b(?:default_code|code)\s*=\s*"([a-z_]+)"', source))
    return codes


def test_the_readme_error_table_lists_every_code_a_client_can_get():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("| 400 |") :]
    table = table[: table.index("\n\n")]

    missing = {code for code in codes_raised_in_the_product() if f"`{code}`" not in table}

    assert len(codes_raised_in_the_product()) > 20
    assert not missing, f"README's error table omits {sorted(missing)}"
