"""Batches end to end: real worker processes, exact progress, complete exports."""

import io
import json
import zipfile
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import Batch
from documents.engines.base import ConversionResult, Page
from ilios import ids
from jobs import queue
from jobs.models import Job
from tests.conftest import FIXTURES, fixture_upload, wait_until

GOOD = [
    "minimal-document.pdf",
    "pdflatex-4-pages.pdf",
    "google-doc-document.pdf",
    "crazyones-pdfa.pdf",
    "issue-33-lorem-ipsum.pdf",
    "scotus-transcript-p1.pdf",
]
BAD = ["empty.pdf", "truncated-nics.pdf", "unreadablemetadata.pdf"]


def files_for(count: int, bad: int = 0):
    good = [fixture_upload(GOOD[i % len(GOOD)]) for i in range(count - bad - 1)]
    junk = [SimpleUploadedFile("notes.pdf", b"plain text\n" * 50)]
    return good + [fixture_upload(BAD[i % len(BAD)]) for i in range(bad)] + junk


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_batch_with_bad_files_adds_up_and_exports_every_document_once(api, workers):
    response = api.post(
        "/v1/batch/submit",
        {"files": files_for(30, bad=3), "priority": 8, "retentionDays": 7},
        format="multipart",
    )
    assert response.status_code == 202
    body = response.json()
    assert body["totalDocuments"] == 30 and len(body["documents"]) == 30
    assert sum(d["status"] == "failed" for d in body["documents"]) == 4
    batch_id = body["batchId"]
    workers(processes=2, concurrency=2)

    def finished():
        status = api.get(f"/v1/batch/status/{batch_id}").json()
        progress = status["progress"]
        assert progress["total"] == 30
        assert sum(v for k, v in progress.items() if k != "total") == 30, progress
        return status if status["status"] in ("completed", "failed") else None

    status = wait_until(finished, timeout=180, interval=0.1)
    assert status["status"] == "completed"
    assert (status["progress"]["completed"], status["progress"]["failed"]) == (26, 4)
    assert status["downloadUrl"] == f"/v1/batch/download/{batch_id}"
    batch = Batch.objects.get(id=batch_id)
    assert (batch.completed_documents, batch.failed_documents) == (26, 4)

    lines = [
        json.loads(line)
        for line in b"".join(
            api.get(f"/v1/batch/download/{batch_id}?format=jsonl").streaming_content
        ).splitlines()
    ]
    assert sorted(line["id"] for line in lines) == sorted(d["id"] for d in body["documents"])
    assert all(line["content"] for line in lines if line["status"] == "completed")
    assert all(line["error"] for line in lines if line["status"] == "failed")

    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(api.get(f"/v1/batch/download/{batch_id}?format=zip").streaming_content))
    )
    manifest = json.loads(archive.read("manifest.json"))["documents"]
    assert sorted(item["id"] for item in manifest) == sorted(line["id"] for line in lines)
    markdown_files = [name for name in archive.namelist() if name.endswith(".md")]
    assert len(markdown_files) == 26 == len(set(markdown_files))
    assert all(item["error"] for item in manifest if item["status"] == "failed")


@pytest.mark.django_db
def test_a_batch_answers_and_exports_its_documents_in_upload_order(api, monkeypatch):
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: 1_800_000_000_000_000_000))
    names = [f"f{n:02d}.pdf" for n in range(1, 11)]  # all their ids made in one millisecond
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    files = [SimpleUploadedFile(name, pdf) for name in names]
    body = api.post("/v1/batch/submit", {"files": files}, format="multipart").json()
    assert [d["fileName"] for d in body["documents"]] == names
    worker = queue.register_worker(concurrency=10)
    converted = [
        (job, ConversionResult(pages=[Page(0, f"text of {job.document.file_name}")], model="m"))
        for job in queue.claim(worker.id, limit=10)
    ]
    queue.complete_many(worker.id, converted)

    download = f"/v1/batch/download/{body['batchId']}"
    lines = b"".join(api.get(f"{download}?format=jsonl").streaming_content).splitlines()
    assert [json.loads(line)["fileName"] for line in lines] == names
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(api.get(f"{download}?format=zip").streaming_content))
    )
    manifest = json.loads(archive.read("manifest.json"))["documents"]
    assert [(item["fileName"], item["file"]) for item in manifest] == [
        (name, f"{n:04d}-{name[:-4]}.md") for n, name in enumerate(names, start=1)
    ]
    assert archive.read("0003-f03.md").decode() == "text of f03.pdf"


@pytest.mark.django_db
def test_a_batch_is_processing_once_a_worker_claims_any_of_its_documents(api):
    files = [fixture_upload("minimal-document.pdf"), fixture_upload("crazyones-pdfa.pdf")]
    body = api.post("/v1/batch/submit", {"files": files}, format="multipart").json()
    assert api.get(body["statusUrl"]).json()["status"] == "pending"
    worker = queue.register_worker(concurrency=1)
    queue.claim(worker.id, limit=1)
    status = api.get(body["statusUrl"]).json()
    assert status["status"] == "processing"
    assert status["progress"] == {**status["progress"], "processing": 1, "pending": 1}


@pytest.mark.django_db
def test_details_true_lists_each_document_with_its_status_as_the_original_did(api):
    files = [
        fixture_upload("minimal-document.pdf"),
        SimpleUploadedFile("notes.pdf", b"plain text\n" * 50),
        fixture_upload("crazyones-pdfa.pdf"),
    ]
    body = api.post("/v1/batch/submit", {"files": files}, format="multipart").json()
    worker = queue.register_worker(concurrency=1)
    queue.claim(worker.id, limit=1)

    assert "documents" not in api.get(body["statusUrl"]).json()
    details = api.get(f"{body['statusUrl']}?details=true").json()["documents"]
    assert [(d["id"], d["fileName"]) for d in details] == [
        (d["id"], d["fileName"]) for d in body["documents"]
    ]
    assert [set(d) for d in details] == [{"id", "fileName", "status", "error", "processedAt"}] * 3
    assert details[1]["status"] == "failed"
    assert {details[0]["status"], details[2]["status"]} == {"processing", "pending"}
    assert details[1]["error"] and details[1]["processedAt"]
    assert details[0]["error"] is details[0]["processedAt"] is None


@pytest.mark.django_db
def test_cancelling_a_batch_cancels_its_pending_documents(api):
    batch_id = api.post("/v1/batch/submit", {"files": files_for(3)}, format="multipart").json()[
        "batchId"
    ]
    response = api.delete(f"/v1/batch/{batch_id}")
    assert response.json()["status"] == "cancelled"
    assert response.json()["progress"]["cancelled"] == 2
    assert set(Job.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_a_batch_of_only_bad_files_fails_at_once(api):
    body = api.post(
        "/v1/batch/submit", {"files": [fixture_upload("empty.pdf")]}, format="multipart"
    ).json()
    status = api.get(body["statusUrl"]).json()
    assert status["status"] == "failed"
    assert status["progress"] == {**status["progress"], "total": 1, "failed": 1}


@pytest.mark.django_db
def test_a_batch_whose_last_pending_document_is_cancelled_finishes(api):
    batch_id = api.post("/v1/batch/submit", {"files": files_for(2)}, format="multipart").json()[
        "batchId"
    ]
    batch = Batch.objects.get(id=batch_id)
    pending = [d for d in batch.documents.all() if d.status == "pending"]
    for document in pending:
        assert api.delete(f"/v1/documents/{document.id}").json()["status"] == "cancelled"
    batch.refresh_from_db()
    assert batch.status == "failed"  # the other file was junk: nothing succeeded
    assert (batch.failed_documents, batch.cancelled_documents) == (1, 1)
