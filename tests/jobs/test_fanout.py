"""Big documents fan out (docs/design.md, Big documents): a long PDF is converted as page-range
parts, each a job of its own, stitched in page order into its document, billed once."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from documents import conversion, engines
from documents.models import Document
from fakes.long_documents import numbered_pdf, page_marker
from fakes.mistral_server import FakeMistralServer
from jobs import payload as job_payload
from jobs import queue
from jobs.models import Job
from tests.conftest import wait_until
from usage.models import UsageRecord

PAGES = 35  # four parts of ten pages: 1-10, 11-20, 21-30, 31-35


def submit(api, pages: int = PAGES, engine: str = "local") -> str:
    upload = SimpleUploadedFile("long.pdf", numbered_pdf(pages))
    response = api.post("/v1/documents", {"file": upload, "engine": engine}, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def in_page_order(markdown: str, pages: int = PAGES) -> bool:
    positions = [markdown.find(page_marker(page)) for page in range(1, pages + 1)]
    return -1 not in positions and positions == sorted(positions)


def status_of(api, document_id: str) -> dict:
    return api.get(f"/v1/documents/{document_id}/status").json()


def converted(job: Job):
    """What a worker's pool thread does with a claimed part: the real engine on its pages."""
    return conversion.run(queue.document_of(job), job_payload.options(job.payload))


@pytest.fixture
def fanout_settings(settings):
    settings.FANOUT_PAGES = 10
    return settings


def claimed(count: int) -> list[Job]:
    """Claim up to `count` parts, each by a worker process of its own, as they would spread."""
    jobs = []
    for _ in range(count):
        jobs += queue.claim(queue.register_worker(concurrency=8).id, limit=8)
    return jobs


@pytest.mark.django_db
class TestInProcess:
    """The queue's part of it, one step at a time, time under control."""

    def test_a_long_pdf_is_queued_as_parts_of_fanout_pages(self, api, fanout_settings):
        document_id = submit(api)
        parent = Job.objects.get(document_id=document_id, parent=None)
        parts = Job.objects.filter(parent=parent).order_by("id")
        assert parent.status == Job.Status.WAITING
        assert [part.payload["pages"] for part in parts] == ["1-10", "11-20", "21-30", "31-35"]
        assert status_of(api, document_id)["metadata"] == {"pagesDone": 0, "pagesTotal": PAGES}

    def test_a_worker_process_takes_one_part_of_a_local_document_at_a_time(
        self, api, fanout_settings
    ):
        """The local engine converts one page at a time in a process: a second part waits for
        another process rather than in this one's threads."""
        document_id = submit(api)
        worker = queue.register_worker(concurrency=8)
        [first] = queue.claim(worker.id, limit=8)
        assert queue.claim(worker.id, limit=8) == []
        other = queue.register_worker(concurrency=8)
        assert [job.payload["pages"] for job in queue.claim(other.id, limit=8)] == ["11-20"]
        queue.complete(first, worker.id, converted(first))
        [third] = queue.claim(worker.id, limit=8)
        assert (third.document_id, third.payload["pages"]) == (document_id, "21-30")

    def test_a_pdf_of_fanout_pages_or_fewer_is_one_job(self, api, fanout_settings):
        document_id = submit(api, pages=10)
        assert Job.objects.filter(document_id=document_id).count() == 1

    def test_fanout_off_converts_in_one_piece(self, api, fanout_settings):
        fanout_settings.FANOUT_PAGES = 0
        document_id = submit(api)
        assert Job.objects.filter(document_id=document_id).count() == 1

    def test_parts_finishing_in_any_order_stitch_in_page_order_billed_once(
        self, api, fanout_settings
    ):
        document_id = submit(api)
        parts = claimed(8)
        assert len(parts) == 4 and status_of(api, document_id)["status"] == "processing"
        done = []
        for part in reversed(parts):
            assert queue.complete(part, part.worker_id, converted(part))
            done.append(part)
            if len(done) < len(parts):
                body = status_of(api, document_id)
                assert body["status"] == "processing"
                assert body["metadata"]["pagesDone"] == sum(
                    len(job_payload.options(job.payload).pages or ()) for job in done
                )
        document = Document.objects.get(id=document_id)
        assert document.status == Document.Status.COMPLETED
        assert in_page_order(document.content)
        assert document.pages == PAGES and document.metadata["extractedPages"] == PAGES
        usage = UsageRecord.objects.get(document_id=document_id)
        assert (usage.pages, usage.operation) == (PAGES, "convert")
        assert Job.objects.get(document_id=document_id, parent=None).status == "completed"
        assert all(
            "markdownPages" not in part.result for part in Job.objects.filter(parent__isnull=False)
        )

    def test_a_failed_part_is_retried_on_its_own(self, api, fanout_settings, clock):
        document_id = submit(api)
        first, *others = claimed(8)
        assert queue.fail(first, first.worker_id, "outage", retryable=True) == Job.Status.PENDING
        assert status_of(api, document_id)["status"] == "processing"
        for part in others:
            queue.complete(part, part.worker_id, converted(part))
        assert status_of(api, document_id)["metadata"]["pagesDone"] == PAGES - 10
        clock.advance(5)
        [again] = claimed(1)
        assert (again.id, again.attempts) == (first.id, 2)
        queue.complete(again, again.worker_id, converted(again))
        document = Document.objects.get(id=document_id)
        assert document.status == Document.Status.COMPLETED and in_page_order(document.content)
        assert UsageRecord.objects.get(document_id=document_id).pages == PAGES

    def test_a_part_failing_for_good_fails_the_document_with_its_reason(self, api, fanout_settings):
        document_id = submit(api)
        first, second = claimed(2)
        assert queue.fail(second, second.worker_id, "a broken page", retryable=False) == "failed"
        document = Document.objects.get(id=document_id)
        assert document.status == Document.Status.FAILED
        assert document.error == "pages 11-20: a broken page"
        parts = Job.objects.filter(parent__isnull=False).order_by("id")
        assert [part.status for part in parts] == ["processing", "failed", "cancelled", "cancelled"]
        queue.complete(first, first.worker_id, converted(first))  # a part still running: dropped
        document.refresh_from_db()
        assert (document.status, document.content) == (Document.Status.FAILED, "")
        assert not UsageRecord.objects.exists()

    def test_deleting_a_document_cancels_its_parts(self, api, fanout_settings):
        document_id = submit(api)
        running, failing = claimed(2)
        response = api.delete(f"/v1/documents/{document_id}")
        assert (response.status_code, response.json()["status"]) == (200, "cancelled")
        parts = Job.objects.filter(parent__isnull=False).order_by("id")
        assert [part.status for part in parts] == [
            "processing",
            "processing",
            "cancelled",
            "cancelled",
        ]
        assert Job.objects.get(parent=None).status == Job.Status.CANCELLED
        queue.complete(running, running.worker_id, converted(running))
        assert queue.fail(failing, failing.worker_id, "outage", retryable=True) == "cancelled"
        assert Document.objects.get(id=document_id).status == Document.Status.CANCELLED
        assert not UsageRecord.objects.exists()
        assert claimed(2) == []

    def test_a_pending_fanned_out_document_is_cancelled_with_all_its_parts(
        self, api, fanout_settings
    ):
        document_id = submit(api)
        assert queue.cancel_pending([document_id]) == 1
        statuses = set(Job.objects.filter(document_id=document_id).values_list("status", flat=True))
        assert statuses == {"cancelled"}
        assert status_of(api, document_id)["status"] == "cancelled"

    def test_a_converted_part_lost_by_its_worker_is_recorded_once(
        self, api, fanout_settings, clock
    ):
        document_id = submit(api, pages=20)
        first, second = claimed(2)
        queue.complete(first, first.worker_id, converted(first))
        clock.advance(60)  # the workers stop heartbeating; orphan recovery takes the part back
        queue.recover_orphans()
        assert not queue.complete(second, second.worker_id, converted(second))
        clock.advance(10)
        [again] = claimed(1)
        assert queue.complete(again, again.worker_id, converted(again))
        assert UsageRecord.objects.get(document_id=document_id).pages == 20
        assert in_page_order(Document.objects.get(id=document_id).content, pages=20)


@pytest.mark.django_db(transaction=True)
def test_the_last_two_parts_finishing_at_once_stitch_exactly_once(api, fanout_settings):
    """Two workers record the last two parts of the same documents at the same moment."""
    documents = [submit(api, pages=20) for _ in range(4)]
    workers = [queue.register_worker(concurrency=8) for _ in range(2)]
    parts = {w.id: [] for w in workers}
    for document_id in documents:
        first, second = Job.objects.filter(document_id=document_id, parent__isnull=False)
        for w, part in zip(workers, (first, second), strict=True):
            Job.objects.filter(id=part.id).update(status="processing", worker=w, attempts=1)
            part.refresh_from_db()
            parts[w.id].append((part, converted(part)))
    start = threading.Barrier(2)

    def record(worker_id: int) -> None:
        try:
            start.wait()
            queue.complete_many(worker_id, parts[worker_id])
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(w.id,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for document_id in documents:
        document = Document.objects.get(id=document_id)
        assert document.status == Document.Status.COMPLETED
        assert in_page_order(document.content, pages=20)
        assert UsageRecord.objects.filter(document_id=document_id).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_long_pdf_converts_across_worker_processes_in_page_order(api, fanout_settings, workers):
    workers(processes=2, concurrency=2, FANOUT_PAGES=10)
    document_id = submit(api)
    wait_until(lambda: status_of(api, document_id)["status"] == "completed", timeout=120)
    markdown = api.get(f"/v1/documents/{document_id}").content.decode()
    assert in_page_order(markdown)
    assert UsageRecord.objects.get(document_id=document_id).pages == PAGES
    assert Job.objects.filter(document_id=document_id, status="completed").count() == 5


@pytest.fixture
def mistral(settings):
    """The Mistral engine against the fake server, which refuses more than 1,000 pages or 50 MB
    a request as the API does."""
    with FakeMistralServer() as server:
        settings.MISTRAL_API_KEY = "sk-test-fanout"
        settings.MISTRAL_SERVER_URL = server.url
        engines.get_engine.cache_clear()
        yield server
    engines.get_engine.cache_clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_1200_page_pdf_converts_through_mistral_completely(
    api, settings, mistral, workers, tmp_path
):
    workers(
        processes=2,
        concurrency=4,
        MISTRAL_API_KEY=settings.MISTRAL_API_KEY,
        MISTRAL_SERVER_URL=mistral.url,
        log=tmp_path / "workers.log",
    )
    document_id = submit(api, pages=1200, engine="mistral")
    assert Job.objects.filter(document_id=document_id, parent__isnull=False).count() == 12
    wait_until(lambda: status_of(api, document_id)["status"] == "completed", timeout=180)
    markdown = api.get(f"/v1/documents/{document_id}").content.decode()
    assert in_page_order(markdown, pages=1200)
    usage = UsageRecord.objects.get(document_id=document_id)
    assert (usage.pages, usage.base_cost_micros) == (1200, 1_200_000)  # $0.001 a page, once
    assert len(mistral.requests_to("ocr")) == 12


@pytest.mark.django_db
def test_sync_convert_fans_out_in_the_request_and_bills_once(api, fanout_settings):
    upload = SimpleUploadedFile("long.pdf", numbered_pdf(PAGES))
    response = api.post("/v1/convert", {"file": upload, "engine": "local"}, format="multipart")
    assert response.status_code == 200, response.content
    assert in_page_order(response.content.decode())
    assert response["X-Extracted-Pages"] == str(PAGES)
    usage = UsageRecord.objects.get(document_id=response["X-Document-Id"])
    assert (usage.pages, usage.operation) == (PAGES, "sync_convert")


@pytest.mark.django_db
def test_sync_convert_of_1200_pages_through_mistral(api, mistral):
    upload = SimpleUploadedFile("long.pdf", numbered_pdf(1200))
    response = api.post(
        "/v1/convert", {"file": upload, "engine": "mistral", "format": "json"}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert in_page_order(response.json()["content"], pages=1200)
    assert response.json()["usage"]["pages"] == 1200
    assert len(mistral.requests_to("ocr")) == 12
