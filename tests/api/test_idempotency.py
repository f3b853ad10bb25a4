"""Idempotency-Key on every creating POST: a retried request gets the first one's response,
even when the two race; the same key with another request is refused."""

import json
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import Batch
from documents.models import Document
from ilios.models import ApiKey, IdempotencyKey
from tests.conftest import FIXTURES, fixture_upload, wait_until
from tests.outages import requires_postgresql, terminate_connections
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

PDF = "minimal-document.pdf"


def post(api, path, key, **fields):
    data = {"file": fixture_upload(PDF), **fields}
    return api.post(path, data, format="multipart", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize("path", ["/v1/documents", "/api/documents/submit"])
def test_a_retried_submission_gets_the_first_response_and_no_second_document(api, path):
    first = post(api, path, "retry-1", priority=7)
    again = post(api, path, "retry-1", priority=7)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Document.objects.count() == 1


def test_a_retried_sync_conversion_is_neither_converted_nor_billed_twice(api):
    first = post(api, "/v1/convert", "convert-1")
    again = post(api, "/v1/convert", "convert-1")
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again["X-Document-Id"] == first["X-Document-Id"]
    assert again["X-Extracted-Pages"] == first["X-Extracted-Pages"]
    assert again["Content-Type"] == first["Content-Type"]
    assert Document.objects.count() == UsageRecord.objects.count() == 1


def test_a_retried_json_conversion_answers_the_same_json(api):
    first = post(api, "/v1/convert", "convert-json", format="json")
    again = post(api, "/v1/convert", "convert-json", format="json")
    assert again.json() == first.json()
    assert UsageRecord.objects.count() == 1


def test_a_retried_batch_gets_the_same_batch(api):
    def submit():
        files = [fixture_upload(PDF), fixture_upload("hebrew.png")]
        return api.post(
            "/v1/batch/submit", {"files": files}, format="multipart", HTTP_IDEMPOTENCY_KEY="b-1"
        )

    first, again = submit(), submit()
    assert again.json() == first.json()
    assert Batch.objects.count() == 1 and Document.objects.count() == 2


@pytest.mark.parametrize(
    "changed",
    [
        {"priority": 9},
        {"pages": "1"},
        {"file": SimpleUploadedFile(PDF, (FIXTURES / "empty.pdf").read_bytes())},
        {"file": SimpleUploadedFile("renamed.pdf", (FIXTURES / PDF).read_bytes())},
    ],
)
def test_the_same_key_with_another_request_is_a_422(api, changed):
    assert post(api, "/v1/documents", "k", priority=5).status_code == 202
    response = post(api, "/v1/documents", "k", **{"priority": 5, **changed})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Document.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_a_422(api):
    assert post(api, "/v1/documents", "k").status_code == 202
    assert post(api, "/api/documents/submit", "k").status_code == 422


def test_keys_are_scoped_per_api_key(api):
    raw_keys = [ApiKey.generate(name)[1] for name in ("team A", "team B")]
    ids = set()
    for raw_key in raw_keys:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        ids.add(post(api, "/v1/documents", "shared-key").json()["id"])
    assert len(ids) == 2


def test_a_key_is_kept_for_24_hours(api, clock):
    first = post(api, "/v1/documents", "daily").json()["id"]
    clock.advance(23.9 * 3600)
    assert post(api, "/v1/documents", "daily").json()["id"] == first
    clock.advance(0.2 * 3600)
    assert post(api, "/v1/documents", "daily").json()["id"] != first
    assert Document.objects.count() == 2


def test_a_request_that_failed_leaves_the_key_free(api):
    refused = api.post(
        "/v1/documents",
        {"file": SimpleUploadedFile("notes.pdf", b"just text")},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="after-a-415",
    )
    assert refused.status_code == 415
    assert not IdempotencyKey.objects.exists()
    response = api.post(
        "/v1/documents",
        {"file": fixture_upload(PDF)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="after-a-415",
    )
    assert response.status_code == 202


def test_a_request_still_running_is_waited_for_then_a_409(api, monkeypatch):
    from ilios import idempotency

    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    first = post(api, "/v1/documents", "busy")
    IdempotencyKey.objects.update(response=None)  # as while the first is still running
    response = post(api, "/v1/documents", "busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert response["Retry-After"]
    assert first.status_code == 202


def test_a_request_that_died_running_is_taken_over_after_its_lease(api, clock):
    post(api, "/v1/documents", "orphan")
    IdempotencyKey.objects.update(response=None)  # its process was killed mid-request
    clock.advance(16 * 60)
    assert post(api, "/v1/documents", "orphan").status_code == 202
    assert Document.objects.count() == 2


def test_a_malformed_key_is_a_400(api):
    response = post(api, "/v1/documents", "x" * 256)
    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "invalid_idempotency_key",
    )


def test_the_schema_documents_the_header(client):
    schema = client.get("/openapi.json").json()
    for path in ("/v1/convert", "/v1/documents", "/api/documents/submit", "/v1/batch/submit"):
        parameters = schema["paths"][path]["post"]["parameters"]
        assert {"name": "Idempotency-Key", "in": "header"}.items() <= parameters[0].items(), path


# --- Racing duplicates, over HTTP against a live server --------------------------------------


def multipart_post(url: str, key: str) -> tuple[int, dict]:
    """POST the PDF (and format=json, for the sync endpoint) with an Idempotency-Key."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\njson\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="race.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    body = head.encode() + (FIXTURES / PDF).read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path, status", [("/v1/documents", 202), ("/v1/convert", 200)])
def test_racing_duplicates_create_one_document_and_all_get_its_response(live_server, path, status):
    clients, rounds = 8, 3
    for round_ in range(rounds):
        keys = [f"race-{round_}"] * clients
        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(multipart_post, [live_server.url + path] * clients, keys))
        assert {code for code, _ in answers} == {status}, answers
        assert len({body["id"] for _, body in answers}) == 1, answers
    assert Document.objects.count() == rounds
    assert UsageRecord.objects.count() == (rounds if path == "/v1/convert" else 0)
    # The server removes each upload's temp file once it has sent the answer, not before.
    wait_until(lambda: not any(Path(settings.UPLOAD_TEMP_DIR).iterdir()), timeout=10)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dropped", ["during the request", "after the request"])
def test_a_key_is_settled_although_the_database_dropped_the_connection(api, monkeypatch, dropped):
    """The request's own connection is gone when the key is settled: giving it up (the request
    failed) or keeping its response (it succeeded) happens on a fresh one, so a retry with the
    same key is answered at once, never a 409 until the lease is over."""
    from documents import services
    from ilios import idempotency

    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    submit = services.submit

    def submit_while_connections_are_dropped(*args, **kwargs):
        if dropped == "during the request":
            terminate_connections()
            Document.objects.exists()  # on the connection the database just dropped
        document = submit(*args, **kwargs)
        terminate_connections()
        return document

    monkeypatch.setattr(services, "submit", submit_while_connections_are_dropped)
    first = post(api, "/v1/documents", f"outage-{dropped}")
    monkeypatch.setattr(services, "submit", submit)
    again = post(api, "/v1/documents", f"outage-{dropped}")

    if dropped == "during the request":
        assert first.status_code == 503
        assert first.json()["error"]["code"] == "database_unavailable"
        assert again.status_code == 202
    else:
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json()
    assert Document.objects.count() == 1
