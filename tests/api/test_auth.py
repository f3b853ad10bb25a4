"""API keys: where they are accepted, what they see, and what stays public."""

import pytest

from ilios.models import ApiKey, hash_key
from tests.conftest import fixture_upload

pytestmark = pytest.mark.django_db


def test_with_no_key_configured_the_api_is_open(api):
    assert api.get("/v1/documents").status_code == 200


@pytest.mark.parametrize(
    "sent",
    [
        {"HTTP_AUTHORIZATION": "Bearer whatever"},
        {"HTTP_X_API_KEY": "whatever"},
        {"QUERY_STRING": "apiKey=whatever"},
    ],
)
def test_an_open_server_ignores_a_key_sent_anyway(api, sent):
    response = api.post("/v1/documents", {"file": fixture_upload("minimal-document.pdf")}, **sent)
    assert response.status_code == 202
    assert api.get(f"/v1/documents/{response.json()['id']}/status", **sent).status_code == 200
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("send", ["bearer", "x-api-key", "query"])
def test_a_key_is_accepted_in_every_documented_place(api, key_a, send):
    if send == "bearer":
        response = api.get("/v1/documents", HTTP_AUTHORIZATION=f"Bearer {key_a}")
    elif send == "x-api-key":
        response = api.get("/v1/documents", HTTP_X_API_KEY=key_a)
    else:
        response = api.get(f"/v1/documents?apiKey={key_a}")
    assert response.status_code == 200


def test_once_a_key_exists_requests_without_one_are_401(api, key_a):
    response = api.get("/v1/documents")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert api.get("/v1/documents", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    nul = api.get("/v1/documents?apiKey=k\x00")
    assert (nul.status_code, nul.json()["error"]["code"]) == (401, "authentication_failed")


@pytest.mark.parametrize("path", ["/", "/health", "/openapi.json", "/docs", "/redoc"])
def test_public_paths_need_no_key(api, key_a, path):
    assert api.get(path).status_code == 200


def test_keys_from_the_environment_work_and_are_stored_hashed(api, settings):
    settings.API_KEY = "first-secret, second-secret"
    assert api.get("/v1/documents", HTTP_AUTHORIZATION="Bearer second-secret").status_code == 200
    assert api.get("/v1/documents").status_code == 401
    stored = ApiKey.objects.get(key_hash=hash_key("second-secret"))
    assert stored.from_environment and "second-secret" not in str(stored.__dict__)


def test_a_revoked_key_is_refused(api, key_a):
    ApiKey.objects.update(active=False)
    ApiKey.generate("someone else")
    assert api.get("/v1/documents", HTTP_AUTHORIZATION=f"Bearer {key_a}").status_code == 401


def test_a_key_revoked_by_another_process_is_refused_within_a_second(api, key_a, monkeypatch):
    from ilios import auth

    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    ApiKey.generate("someone else")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {key_a}"}
    assert api.get("/v1/documents", **bearer).status_code == 200
    # As another process would: no signal reaches this one.
    ApiKey.objects.filter(key_hash=hash_key(key_a)).update(active=False)
    assert api.get("/v1/documents", **bearer).status_code == 200, "remembered for a second"
    now[0] += auth.KEYS_CHECK_SECONDS
    assert api.get("/v1/documents", **bearer).status_code == 401


def test_a_key_revoked_in_this_process_is_refused_at_once(api, key_a):
    ApiKey.generate("someone else")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {key_a}"}
    assert api.get("/v1/documents", **bearer).status_code == 200
    key = ApiKey.objects.get(key_hash=hash_key(key_a))
    key.active = False
    key.save()
    assert api.get("/v1/documents", **bearer).status_code == 401


def test_last_use_is_recorded(api, key_a):
    api.get("/v1/documents", HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert ApiKey.objects.get(key_hash=hash_key(key_a)).last_used_at is not None


def _document(api, key):
    return api.post(
        "/v1/documents",
        {"file": fixture_upload("minimal-document.pdf")},
        format="multipart",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    ).json()["id"]


def _batch(api, key):
    return api.post(
        "/v1/batch/submit",
        {"files": [fixture_upload("minimal-document.pdf")]},
        format="multipart",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    ).json()["batchId"]


ID_ENDPOINTS = [
    ("get", "/v1/documents/{document}/status"),
    ("get", "/api/documents/status/{document}"),
    ("get", "/v1/documents/{document}"),
    ("get", "/api/documents/{document}"),
    ("get", "/v1/documents/{document}/original"),
    ("get", "/api/documents/{document}/original"),
    ("delete", "/v1/documents/{document}"),
    ("get", "/v1/batch/status/{batch}"),
    ("get", "/v1/batch/download/{batch}"),
    ("get", "/v1/batch/download/{batch}?format=zip"),
    ("delete", "/v1/batch/{batch}"),
]


@pytest.mark.parametrize(("method", "path"), ID_ENDPOINTS)
def test_another_keys_objects_are_404(api, key_a, key_b, method, path):
    url = path.format(document=_document(api, key_a), batch=_batch(api, key_a))
    response = getattr(api, method)(url, HTTP_AUTHORIZATION=f"Bearer {key_b}")
    assert response.status_code == 404
    owner = getattr(api, method)(url, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert owner.status_code in (200, 202)


def test_lists_show_only_the_callers_documents(api, key_a, key_b):
    mine = _document(api, key_a)
    _document(api, key_b)
    listing = api.get("/v1/documents", HTTP_AUTHORIZATION=f"Bearer {key_a}").json()
    assert [d["id"] for d in listing["results"]] == [mine]


def test_the_first_key_created_closes_the_api_at_once(api):
    assert api.get("/v1/documents").status_code == 200
    ApiKey.generate("first")
    assert api.get("/v1/documents").status_code == 401
