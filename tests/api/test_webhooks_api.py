"""`webhookUrl` on the submitting endpoints, a key's default webhook, and a document's
deliveries in its JSON."""

import pytest

from batches.models import Batch
from documents.models import Document
from ilios.models import ApiKey
from jobs import queue, webhooks
from jobs.models import Delivery, Job
from tests.conftest import fixture_upload

pytestmark = pytest.mark.django_db

SUBMITTING = ["/v1/documents", "/api/documents/submit"]


def submit(api, path="/v1/documents", **fields):
    return api.post(
        path, {"file": fixture_upload("minimal-document.pdf"), **fields}, format="multipart"
    )


@pytest.mark.parametrize("path", SUBMITTING)
def test_a_submission_with_a_webhook_url_keeps_it(api, webhook_settings, path):
    response = submit(api, path, webhookUrl="http://127.0.0.1:9/hook")
    assert response.status_code == 202, response.content
    assert Document.objects.get().webhook_url == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize("path", SUBMITTING)
def test_a_refused_url_is_a_400_and_nothing_is_stored(api, webhook_settings, settings, path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = submit(api, path, webhookUrl="https://169.254.169.254/latest")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "webhook_url_refused"
    assert "link-local" in error["message"]
    assert not Document.objects.exists()
    assert not list((settings.DATA_DIR / "files").rglob("*.pdf"))


def test_plain_http_is_refused_unless_private_networks_are_allowed(api, settings):
    settings.WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    response = submit(api, webhookUrl="http://hooks.example/ilios")
    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "webhook_url_refused",
    )


def test_a_webhook_needs_a_secret_to_sign_with(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = submit(api, webhookUrl="http://127.0.0.1:9/hook")
    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "webhook_secret_missing",
    )


def test_a_batch_and_its_documents_keep_the_webhook_url(api, webhook_settings):
    response = api.post(
        "/v1/batch/submit",
        {
            "files": [fixture_upload("minimal-document.pdf"), fixture_upload("hebrew.png")],
            "webhookUrl": "http://127.0.0.1:9/hook",
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    assert Batch.objects.get().webhook_url == "http://127.0.0.1:9/hook"
    assert set(Document.objects.values_list("webhook_url", flat=True)) == {
        "http://127.0.0.1:9/hook"
    }


def test_a_batch_with_a_refused_url_is_a_400(api, webhook_settings, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = api.post(
        "/v1/batch/submit",
        {"files": [fixture_upload("minimal-document.pdf")], "webhookUrl": "https://10.0.0.8/"},
        format="multipart",
    )
    assert response.status_code == 400
    assert not Batch.objects.exists()


def test_a_batch_whose_every_file_is_refused_is_announced_at_once(api, webhook_settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(
        "/v1/batch/submit",
        {
            "files": [SimpleUploadedFile("notes.pdf", b"just text")],
            "webhookUrl": "http://127.0.0.1:9/hook",
        },
        format="multipart",
    )
    assert response.json()["status"] == "failed"
    [delivery] = Delivery.objects.all()
    assert delivery.event == "batch.completed"
    assert delivery.body["status"] == "failed"


def test_the_keys_default_webhook_applies_when_a_request_names_none(api, webhook_settings):
    key, raw_key = ApiKey.generate("team")
    ApiKey.objects.filter(id=key.id).update(webhook_url="http://127.0.0.1:9/default")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert submit(api).status_code == 202
    assert submit(api, webhookUrl="http://127.0.0.1:9/mine").status_code == 202
    assert sorted(Document.objects.values_list("webhook_url", flat=True)) == [
        "http://127.0.0.1:9/default",
        "http://127.0.0.1:9/mine",
    ]


def test_a_documents_json_lists_its_deliveries(api, make_document, receiver):
    document = make_document(webhook_url=receiver.url)
    worker = queue.register_worker(concurrency=1)
    [job] = queue.claim(worker.id, limit=1)
    queue.complete(job, worker.id, webhooks_result())
    receiver.answer(503)
    [delivery_job] = queue.claim(worker.id, limit=1, job_type=Job.Type.WEBHOOK)
    queue.record_delivery(delivery_job, worker.id, webhooks.send(delivery_job))
    body = api.get(f"/v1/documents/{document.id}?format=json").json()
    [delivery] = body["deliveries"]
    assert delivery["id"] == Delivery.objects.get().id
    assert delivery["event"] == "document.completed"
    assert delivery["url"] == receiver.url
    assert (delivery["outcome"], delivery["attempts"], delivery["lastStatusCode"]) == (
        "retrying",
        1,
        503,
    )
    assert delivery["nextAttemptAt"] and delivery["lastError"].startswith("HTTP 503")


def webhooks_result():
    from documents.engines.base import ConversionResult, Page

    return ConversionResult(pages=[Page(0, "# done")], model="m")


def test_the_schema_documents_the_webhooks_and_the_new_fields(client):
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["webhooks"]) == {"document.completed", "document.failed", "batch.completed"}
    event = schema["components"]["schemas"]["DocumentEvent"]["properties"]
    assert {"event", "id", "status", "fileName", "downloadUrl"} <= set(event)
    assert "content" not in event
    batch_event = schema["components"]["schemas"]["BatchEvent"]["properties"]
    assert {"event", "batchId", "progress"} <= set(batch_event)
    for path in ("/v1/documents", "/api/documents/submit", "/v1/batch/submit"):
        request = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        fields = schema["components"]["schemas"][request["schema"]["$ref"].split("/")[-1]]
        assert "webhookUrl" in fields["properties"], path
    content = schema["components"]["schemas"]["DocumentContent"]["properties"]
    assert "deliveries" in content
