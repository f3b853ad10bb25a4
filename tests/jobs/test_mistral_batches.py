"""Batches sent to Mistral's Batch API (`useMistralBatch=true`): the real SDK against the fake
Mistral server (fakes/mistral_server.py), stepped in this process with the clock under the
test's control, or worked by real `runworkers` processes where crashes are the point."""

from __future__ import annotations

import os
import signal

import pytest
from django.conf import settings

from batches.models import Batch
from documents import engines
from documents.engines.base import ConversionOptions
from documents.models import Document
from fakes.mistral_server import FakeMistralServer
from jobs import mistral_batches, queue
from jobs.models import Job, Worker
from tests.conftest import FIXTURES, fixture_upload, wait_until
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sk-test-mistral-batches"
FILES = (
    ("minimal-document.pdf", "application/pdf"),
    ("pdflatex-4-pages.pdf", "application/pdf"),
    ("hebrew.png", "image/png"),
)
POLL_INTERVAL = 0.2
FAST_RECOVERY = {"HEARTBEAT_INTERVAL": 0.2, "WORKER_DEAD_AFTER": 2, "MAINTENANCE_INTERVAL": 0.5}


@pytest.fixture
def mistral(settings):
    with FakeMistralServer(api_key=API_KEY) as server:
        settings.MISTRAL_API_KEY = API_KEY
        settings.MISTRAL_SERVER_URL = server.url
        settings.MISTRAL_BATCH_POLL_INTERVAL = POLL_INTERVAL
        engines.get_engine.cache_clear()
        yield server
    engines.get_engine.cache_clear()


def worker_env(server: FakeMistralServer) -> dict:
    return {
        "MISTRAL_API_KEY": API_KEY,
        "MISTRAL_SERVER_URL": server.url,
        "MISTRAL_BATCH_POLL_INTERVAL": POLL_INTERVAL,
    }


def submit(api, **fields) -> dict:
    response = api.post(
        "/v1/batch/submit",
        {"files": [fixture_upload(name) for name, _ in FILES], "useMistralBatch": "true", **fields},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    return response.json()


def expected_markdown(name: str, mime_type: str) -> str:
    """What the fake's OCR endpoint answers for this file, one document at a time."""
    engine = engines.get_engine("mistral")
    return engine.convert(FIXTURES / name, mime_type, ConversionOptions()).markdown


def documents_of(batch_id: str) -> list[Document]:
    return list(Document.objects.filter(batch_id=batch_id).order_by("file_name"))


def step(worker: Worker) -> Job.Status | None:
    """One claim of the batch's queue job, as a worker's Mistral lane makes it."""
    [job] = queue.claim(worker.id, 1, Job.Type.MISTRAL_BATCH)
    return mistral_batches.advance(job, worker.id)


@pytest.mark.slow
def test_a_batch_completes_through_one_mistral_batch_job_billed_at_the_batch_price(
    api, mistral, workers
):
    submitted = submit(api)
    assert Job.objects.get().type == Job.Type.MISTRAL_BATCH, "one job for the whole batch"
    workers(**worker_env(mistral))

    batch = wait_until(
        lambda: Batch.objects.filter(id=submitted["batchId"], status="completed").first(),
        timeout=90,
    )

    assert len(mistral.batch_jobs) == 1
    [mistral_job] = mistral.batch_jobs.values()
    assert mistral_job.model == settings.MISTRAL_OCR_MODEL
    assert len(mistral.requests_to("batch_get")) >= 2, "it looked again while the job ran"
    assert mistral.requests_to("ocr") == [], "no document went through the one-by-one endpoint"
    documents = {document.file_name: document for document in documents_of(batch.id)}
    for name, mime_type in FILES:
        assert documents[name].status == "completed"
        assert documents[name].content == expected_markdown(name, mime_type)
    records = UsageRecord.objects.filter(document__batch=batch)
    assert sorted(records.values_list("document__file_name", flat=True)) == sorted(documents)
    for record in records:
        assert record.operation == UsageRecord.Operation.MISTRAL_BATCH
        assert record.pages == record.document.pages
        assert record.base_cost_micros == record.pages * 500  # $0.0005 a page
    assert batch.completed_documents == 3
    assert Job.objects.get().status == Job.Status.COMPLETED


def test_a_failed_mistral_batch_job_fails_every_document_with_its_reason(api, mistral, clock):
    mistral.fail_next_batch("Batch job failed: input file rejected")
    submitted = submit(api)
    worker = queue.register_worker(1)

    assert step(worker) == Job.Status.PENDING  # uploaded and started, looks again later
    clock.advance(POLL_INTERVAL)
    assert step(worker) == Job.Status.PENDING  # running
    clock.advance(POLL_INTERVAL)
    assert step(worker) == Job.Status.FAILED

    reason = f"Mistral batch job {next(iter(mistral.batch_jobs))} ended FAILED"
    for document in documents_of(submitted["batchId"]):
        assert document.status == "failed"
        assert document.error == f"{reason}: Batch job failed: input file rejected"
    assert Batch.objects.get().status == Batch.Status.FAILED
    assert Job.objects.get().error.startswith(reason)
    assert UsageRecord.objects.count() == 0


def test_a_document_mistral_fails_or_leaves_out_fails_alone_with_mistrals_reason(
    api, mistral, clock
):
    submitted = submit(api)
    ids = {document.file_name: document.id for document in documents_of(submitted["batchId"])}
    mistral.batch_request_errors[ids["hebrew.png"]] = "Image could not be decoded"
    mistral.batch_polls_before_end = settings.JOB_MAX_ATTEMPTS + 2  # waiting uses no attempts
    worker = queue.register_worker(1)
    while step(worker) == Job.Status.PENDING:
        clock.advance(POLL_INTERVAL)

    documents = {document.file_name: document for document in documents_of(submitted["batchId"])}
    assert documents["hebrew.png"].status == "failed"
    assert "Image could not be decoded" in documents["hebrew.png"].error
    assert {
        documents[name].status for name in ("minimal-document.pdf", "pdflatex-4-pages.pdf")
    } == {"completed"}
    assert [(r.operation, r.base_cost_micros) for r in UsageRecord.objects.order_by("pages")] == [
        (UsageRecord.Operation.MISTRAL_BATCH, 1 * 500),
        (UsageRecord.Operation.MISTRAL_BATCH, 4 * 500),
    ]
    job = Job.objects.get()
    assert (job.status, job.attempts) == (Job.Status.COMPLETED, 1)


def test_the_batch_is_processing_once_its_documents_are_at_mistral(api, mistral, clock):
    batch = submit(api)
    worker = queue.register_worker(1)
    assert Batch.objects.get(id=batch["batchId"]).status == Batch.Status.PENDING

    assert step(worker) == Job.Status.PENDING  # uploaded and started

    assert Batch.objects.get(id=batch["batchId"]).status == Batch.Status.PROCESSING
    assert set(Document.objects.values_list("status", flat=True)) == {"processing"}


def test_mistral_unreachable_while_the_job_runs_never_fails_the_batch(api, mistral, clock):
    """Mistral converts and bills the documents anyway: the job keeps looking, however long
    Mistral is away, and uses no attempts."""
    submit(api)
    worker = queue.register_worker(1)
    assert step(worker) == Job.Status.PENDING  # uploaded and started
    mistral.fail_next(503, endpoint="batch_get", times=settings.JOB_MAX_ATTEMPTS + 1)
    for _ in range(settings.JOB_MAX_ATTEMPTS + 1):
        clock.advance(POLL_INTERVAL)
        assert step(worker) == Job.Status.PENDING

    job = Job.objects.get()
    assert (job.attempts, job.error) == (0, "Mistral OCR failed (HTTP 503): Internal server error")
    clock.advance(POLL_INTERVAL)
    while step(worker) == Job.Status.PENDING:
        clock.advance(POLL_INTERVAL)

    assert len(mistral.batch_jobs) == 1
    assert set(Document.objects.values_list("status", flat=True)) == {"completed"}


def test_a_crash_after_mistral_created_the_job_but_before_its_id_was_recorded_adopts_that_job(
    api, mistral, clock
):
    """The window `jobs.mistral_batches` describes: the batch job exists at Mistral, its id is
    nowhere here. The next attempt finds it by its input file instead of creating another."""
    submit(api)
    worker = queue.register_worker(1)
    [job] = queue.claim(worker.id, 1, Job.Type.MISTRAL_BATCH)
    payload = dict(job.payload)
    payload["uploadedAt"] = clock.now.isoformat()
    payload["inputFileId"], payload["refused"] = mistral_batches._upload_input(
        engines.get_engine("mistral"), job
    )
    assert queue.save_progress(job, worker.id, payload)
    created = engines.get_engine("mistral").start_batch(
        payload["inputFileId"], payload["model"], {}, clock.now
    )
    Worker.objects.filter(id=worker.id).update(status=Worker.Status.DEAD)  # then it died
    assert queue.recover_orphans() == 1
    clock.advance(queue.BACKOFF_BASE_SECONDS)

    successor = queue.register_worker(1)
    while step(successor) == Job.Status.PENDING:
        clock.advance(POLL_INTERVAL)

    assert list(mistral.batch_jobs) == [created]
    assert len(mistral.requests_to("batch_create")) == 1
    assert Job.objects.get().result["mistralJobId"] == created
    assert set(Document.objects.values_list("status", flat=True)) == {"completed"}


def test_a_batch_cancelled_before_it_was_sent_sends_nothing_to_mistral(api, mistral):
    submitted = submit(api)
    assert api.delete(f"/v1/batch/{submitted['batchId']}").status_code == 200

    assert step(queue.register_worker(1)) == Job.Status.COMPLETED
    assert mistral.requests == []
    assert set(Document.objects.values_list("status", flat=True)) == {"cancelled"}
    assert Batch.objects.get().status == Batch.Status.CANCELLED


@pytest.mark.slow
def test_a_worker_killed_while_looking_at_the_batch_job_is_recovered_without_a_second_job(
    api, mistral, workers
):
    mistral.hold_batches = True
    mistral.look_latency_s = 0.5  # a look is under way most of the time
    submitted = submit(api)
    workers(**worker_env(mistral), **FAST_RECOVERY)

    job = wait_until(
        lambda: (
            Job.objects.filter(status="processing", payload__has_key="mistralJobId")
            .select_related("worker")
            .first()
        ),
        timeout=60,
    )
    os.kill(job.worker.pid, signal.SIGKILL)
    wait_until(lambda: Worker.objects.filter(pid=job.worker.pid, status="dead").exists())
    mistral.hold_batches = False

    wait_until(
        lambda: Batch.objects.filter(id=submitted["batchId"], status="completed").exists(),
        timeout=90,
    )
    assert len(mistral.batch_jobs) == 1
    assert len(mistral.requests_to("batch_create")) == 1
    assert set(Document.objects.values_list("status", flat=True)) == {"completed"}
    assert UsageRecord.objects.count() == 3
    assert UsageRecord.objects.values("document").distinct().count() == 3
