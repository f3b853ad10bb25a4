"""Re-runs that cost nothing (documents/cache.py): the same bytes, engine and options under the
same API key complete at once from the earlier result, without the engine, billed as `cached`
at no cost; `cache=false` and `forceOcr` convert again, and nothing crosses API keys."""

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from batches.models import Batch
from documents import cache, conversion
from documents.models import Document
from ilios.models import ApiKey
from jobs import payload as job_payload
from jobs import queue
from jobs.models import Delivery, Job
from tests.conftest import fixture_upload
from tests.jobs.test_webhooks import deliver
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

PDF = "minimal-document.pdf"
FOUR_PAGES = "pdflatex-4-pages.pdf"


class CountingEngine:
    """The real engine, counted: how many conversions actually ran."""

    def __init__(self, engine, calls: list):
        self.engine, self.calls = engine, calls

    def convert(self, path, mime_type, options):
        self.calls.append(options)
        return self.engine.convert(path, mime_type, options)


@pytest.fixture
def engine_calls(monkeypatch) -> list:
    calls: list = []
    real = conversion.get_engine
    monkeypatch.setattr(conversion, "get_engine", lambda name: CountingEngine(real(name), calls))
    return calls


@pytest.fixture(autouse=True)
def priced_local_engine(settings):
    """A local page costs a cent here, so a free re-run is told apart from a free engine."""
    settings.ENGINES = {
        **django_settings.ENGINES,
        "local": {**django_settings.ENGINES["local"], "PRICE_PER_PAGE": 0.01},
    }


def submit(api, name=PDF, path="/v1/documents", **fields):
    response = api.post(path, {"file": fixture_upload(name), **fields}, format="multipart")
    assert response.status_code in (200, 202), response.content
    return response


def convert_queued() -> None:
    """Run every ready conversion as a worker process does, in this process."""
    worker = queue.register_worker(concurrency=4)
    for job in queue.claim(worker.id, limit=100):
        result = conversion.run(queue.document_of(job), job_payload.options(job.payload))
        assert queue.complete(job, worker.id, result)


def converted_once(api, name=PDF, **fields) -> Document:
    document_id = submit(api, name, **fields).json()["id"]
    convert_queued()
    return Document.objects.get(id=document_id)


def test_a_resubmitted_document_completes_at_once_without_the_engine_and_free(
    client_a, engine_calls
):
    first = converted_once(client_a)
    assert len(engine_calls) == 1
    body = submit(client_a, priority=9).json()
    assert body["status"] == "completed"
    again = Document.objects.get(id=body["id"])
    assert not Job.objects.filter(document=again).exists(), "no queue wait"
    assert len(engine_calls) == 1, "the engine was not called again"
    assert (again.content, again.pages) == (first.content, first.pages)
    assert again.metadata["cachedFrom"] == first.id
    assert client_a.get(f"/v1/documents/{again.id}").content.decode() == first.content
    record = UsageRecord.objects.get(document=again)
    assert (record.operation, record.pages) == ("cached", 1)
    assert record.base_cost_micros == record.total_cost_micros == 0
    assert UsageRecord.objects.get(document=first).total_cost_micros > 0


def test_a_resubmitted_sync_conversion_answers_the_same_markdown_without_the_engine(
    client_a, engine_calls
):
    first = submit(client_a, path="/v1/convert")
    again = submit(client_a, path="/v1/convert")
    assert len(engine_calls) == 1
    assert again.content == first.content
    assert again["X-Document-Id"] != first["X-Document-Id"]
    assert (again["X-Extracted-Pages"], again["X-Processing-Time-Ms"]) == ("1", "0")
    as_json = submit(client_a, path="/v1/convert", format="json").json()
    assert (as_json["usage"]["pages"], as_json["usage"]["total_tokens"]) == (1, 0)
    assert as_json["metadata"]["extractedPages"] == 1
    assert len(engine_calls) == 1
    operations = UsageRecord.objects.order_by("id").values_list("operation", flat=True)
    assert list(operations) == ["sync_convert", "cached", "cached"]


@pytest.mark.parametrize("bypass", [{"cache": "false"}, {"forceOcr": "true"}])
def test_cache_false_and_force_ocr_convert_again(client_a, engine_calls, bypass):
    converted_once(client_a, engine="scripted")  # it does not OCR, slowly, for forceOcr
    body = submit(client_a, engine="scripted", **bypass).json()
    assert body["status"] == "pending"
    submit(client_a, path="/v1/convert", engine="scripted", **bypass)
    assert len(engine_calls) == 2, "the sync conversion ran its engine"
    convert_queued()
    assert len(engine_calls) == 3, "so did the queued one"


@pytest.mark.parametrize(
    ("first", "second", "reused"),
    [
        ({"pages": "2-3"}, {"pages": "2,3"}, True),
        ({"pages": "2-3"}, {"pages": "2-4"}, False),
        ({"pages": "2-3"}, {}, False),
        ({}, {"engine": "scripted"}, False),
        ({"engine": "scripted", "forceOcr": "true"}, {"engine": "scripted"}, False),
    ],
)
def test_options_that_change_the_markdown_are_part_of_the_match(
    client_a, engine_calls, first, second, reused
):
    converted_once(client_a, FOUR_PAGES, **first)
    body = submit(client_a, FOUR_PAGES, **second).json()
    assert (body["status"] == "completed") is reused


def test_options_that_do_not_change_the_markdown_still_match(client_a, engine_calls):
    converted_once(client_a, priority=1, retentionDays=3)
    body = submit(client_a, priority=9, retentionDays=30).json()
    assert body["status"] == "completed"
    assert Document.objects.get(id=body["id"]).retention_days == 30


def test_a_re_run_after_the_languages_changed_converts_again(client_a, engine_calls, settings):
    converted_once(client_a)
    settings.OCR_LANGUAGES = "eng+deu"
    assert submit(client_a).json()["status"] == "pending"
    settings.OCR_LANGUAGES = "eng"
    assert submit(client_a).json()["status"] == "completed"


def completed_by_mistral(document_id: str) -> None:
    """As if Mistral had converted it (no conversion here reaches Mistral)."""
    Document.objects.filter(id=document_id).update(
        status=Document.Status.COMPLETED, content="# By Mistral", processed_at=timezone.now()
    )


def test_a_mistral_result_is_reused_only_under_the_model_that_converted_it(client_a, settings):
    settings.MISTRAL_API_KEY = "sk-test-cache"
    completed_by_mistral(submit(client_a, engine="mistral").json()["id"])
    settings.MISTRAL_OCR_MODEL = "mistral-ocr-2505"
    assert submit(client_a, engine="mistral").json()["status"] == "pending"
    files = {"files": [fixture_upload(PDF)], "useMistralBatch": "true", "model": "mistral-ocr-2512"}
    batch = client_a.post("/v1/batch/submit", files, format="multipart").json()
    completed_by_mistral(batch["documents"][0]["id"])
    assert submit(client_a, engine="mistral").json()["status"] == "pending"
    settings.MISTRAL_OCR_MODEL = "mistral-ocr-2512"
    reused = submit(client_a, engine="mistral").json()
    assert reused["status"] == "completed"
    assert (
        Document.objects.get(id=reused["id"]).metadata["cachedFrom"] == batch["documents"][0]["id"]
    )


def test_the_cache_never_crosses_api_keys(api, key_a, key_b, engine_calls):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_a}")
    converted_once(api)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_b}")
    assert submit(api).json()["status"] == "pending"
    submit(api, path="/v1/convert")
    assert len(engine_calls) == 2


def fail_it(api, document_id):
    worker = queue.register_worker(concurrency=1)
    [job] = queue.claim(worker.id, limit=1)
    queue.fail(job, worker.id, "unreadable", retryable=False)


def cancel_it(api, document_id):
    api.delete(f"/v1/documents/{document_id}")


def archive_it(api, document_id):
    convert_queued()
    api.delete(f"/v1/documents/{document_id}")


@pytest.mark.parametrize("end", [fail_it, cancel_it, archive_it])
def test_a_failed_cancelled_or_archived_document_is_never_reused(client_a, engine_calls, end):
    first = submit(client_a).json()["id"]
    end(client_a, first)
    assert Document.objects.get(id=first).status in ("failed", "cancelled", "archived")
    assert submit(client_a).json()["status"] == "pending"


def test_a_duplicate_sent_while_the_first_is_still_queued_is_converted_too(client_a, engine_calls):
    first = submit(client_a).json()
    again = submit(client_a).json()
    assert first["status"] == again["status"] == "pending"
    convert_queued()
    assert len(engine_calls) == 2
    assert Document.objects.filter(status="completed").count() == 2


def test_a_batch_completes_its_cached_files_at_once_and_queues_the_others(client_a, engine_calls):
    converted_once(client_a)
    files = [fixture_upload(PDF), fixture_upload(FOUR_PAGES)]
    body = client_a.post("/v1/batch/submit", {"files": files}, format="multipart").json()
    statuses = {d["fileName"]: d["status"] for d in body["documents"]}
    assert statuses == {PDF: "completed", FOUR_PAGES: "pending"}
    assert Job.objects.filter(document__batch_id=body["batchId"]).count() == 1
    progress = client_a.get(f"/v1/batch/status/{body['batchId']}").json()["progress"]
    assert (progress["completed"], progress["pending"]) == (1, 1)
    convert_queued()
    assert Batch.objects.get(id=body["batchId"]).status == "completed"
    assert len(engine_calls) == 2


def test_a_cached_document_and_its_batch_are_announced_like_any_other(
    client_a, engine_calls, receiver
):
    converted_once(client_a)
    cached = submit(client_a, webhookUrl=receiver.url).json()
    batch = client_a.post(
        "/v1/batch/submit",
        {"files": [fixture_upload(PDF)], "webhookUrl": receiver.url},
        format="multipart",
    ).json()
    assert batch["documents"][0]["status"] == "completed"
    assert Batch.objects.get(id=batch["batchId"]).status == "completed"
    deliver(queue.register_worker(concurrency=4))
    events = sorted((r.payload["event"], r.payload.get("id")) for r in receiver.received)
    assert events == sorted(
        [
            ("document.completed", cached["id"]),
            ("document.completed", batch["documents"][0]["id"]),
            ("batch.completed", None),
        ]
    )
    assert Delivery.objects.count() == 3
    assert len(engine_calls) == 1


def test_the_newest_copy_is_found_from_the_index_without_reading_the_others():
    """A file resubmitted daily has thousands of completed copies: the lookup walks the index
    to its last entry for the key instead of reading them all and sorting them."""
    key, _ = ApiKey.generate("daily resubmitter")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # an empty table is read whole: plan as if full
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"{connection.ops.explain_query_prefix()} {cache.newest_sql(keyless=False)}",
            ["0" * 64, Document.Status.COMPLETED, key.pk],
        )
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "documents_cache_newest_idx" in plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort" not in plan
