"""The asynchronous document API: submit, status, content, original, list, delete."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from jobs import queue
from jobs.models import Job
from tests.conftest import FIXTURES, fixture_upload
from tests.jobs.test_queue import a_result

pytestmark = pytest.mark.django_db


def submit(api, name="minimal-document.pdf", path="/v1/documents", **fields):
    return api.post(path, {"file": fixture_upload(name), **fields}, format="multipart")


def finish(document_id, result=None):
    worker = queue.register_worker(concurrency=1)
    [job] = queue.claim(worker.id, limit=1)
    assert job.document_id == document_id
    if result is None:
        queue.fail(job, worker.id, "the engine could not read page 1", retryable=False)
    else:
        queue.complete(job, worker.id, result)


def test_submitting_a_pdf_answers_202_and_queues_one_job(api):
    response = submit(api, retentionDays=30, priority=8)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["fileName"] == "minimal-document.pdf"
    assert body["fileSize"] == (FIXTURES / "minimal-document.pdf").stat().st_size
    assert body["retentionDays"] == 30
    assert body["statusUrl"] == f"/v1/documents/{body['id']}/status"
    job = Job.objects.get(document_id=body["id"])
    assert (job.status, job.priority) == ("pending", 8)
    assert Document.objects.get(id=body["id"]).mime_type == "application/pdf"


def test_the_legacy_submit_path_still_works(api):
    response = submit(api, path="/api/documents/submit")
    assert response.status_code == 202
    assert response.json()["statusUrl"].startswith("/api/documents/status/")
    status = api.get(response.json()["statusUrl"])
    assert status.json()["status"] == "pending"


def test_content_is_202_while_pending_then_markdown(api):
    document_id = submit(api).json()["id"]
    assert api.get(f"/v1/documents/{document_id}").status_code == 202
    finish(document_id, a_result(pages=2))
    response = api.get(f"/v1/documents/{document_id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert response.content.decode() == "page 0\n\npage 1"
    body = api.get(f"/api/documents/{document_id}?format=json").json()
    assert body["content"] == "page 0\n\npage 1"
    assert body["metadata"]["extractedPages"] == 2
    status = api.get(f"/v1/documents/{document_id}/status").json()
    assert status["status"] == "completed"
    assert status["metadata"]["extractedPages"] == 2
    assert status["metadata"]["pages"] == 2, "the name the original's README promised"


def test_a_failed_document_answers_its_error_not_a_500(api):
    document_id = submit(api).json()["id"]
    finish(document_id, result=None)
    response = api.get(f"/v1/documents/{document_id}")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "the engine could not read page 1"
    assert api.get(f"/v1/documents/{document_id}/status").json()["error"] == (
        "the engine could not read page 1"
    )


def test_the_original_streams_back_byte_for_byte(api):
    document_id = submit(api).json()["id"]
    response = api.get(f"/v1/documents/{document_id}/original")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (FIXTURES / "minimal-document.pdf").read_bytes()
    assert "minimal-document.pdf" in response["Content-Disposition"]


def test_the_list_filters_by_status(api):
    first = submit(api).json()["id"]
    second = submit(api, "pdflatex-4-pages.pdf").json()["id"]
    finish(first, a_result())
    listing = api.get("/v1/documents").json()
    assert [d["id"] for d in listing["results"]] == [second, first]
    completed = api.get("/v1/documents?status=completed").json()
    assert [d["id"] for d in completed["results"]] == [first]


def test_deleting_a_pending_document_cancels_it(api):
    document_id = submit(api).json()["id"]
    assert api.delete(f"/v1/documents/{document_id}").json()["status"] == "cancelled"
    assert Job.objects.get(document_id=document_id).status == "cancelled"
    assert api.get(f"/v1/documents/{document_id}").status_code == 409


def test_deleting_a_finished_document_erases_content_and_original(api):
    document_id = submit(api).json()["id"]
    finish(document_id, a_result())
    original = Document.objects.get(id=document_id).original
    assert api.delete(f"/v1/documents/{document_id}").json()["status"] == "archived"
    assert api.get(f"/v1/documents/{document_id}").status_code == 410
    assert api.get(f"/v1/documents/{document_id}/original").status_code == 410
    from django.core.files.storage import default_storage

    assert not default_storage.exists(original)


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        (SimpleUploadedFile("empty.pdf", b""), 400, "empty_file"),
        (
            SimpleUploadedFile("notes.pdf", b"just some text, not a PDF\n" * 40),
            415,
            "unsupported_media_type",
        ),
        (fixture_upload("truncated-nics.pdf"), 422, "unreadable_document"),
        (fixture_upload("unreadablemetadata.pdf"), 422, "unreadable_document"),
        (fixture_upload("password-example.pdf"), 400, "password_required"),
    ],
    ids=["empty", "text-renamed-pdf", "truncated", "corrupt", "encrypted"],
)
def test_a_bad_upload_is_a_clear_4xx_and_leaves_nothing(api, upload, status, code):
    response = api.post("/v1/documents", {"file": upload}, format="multipart")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert Document.objects.count() == 0
    assert list(Path(settings.UPLOAD_TEMP_DIR).iterdir()) == []


def test_a_wrong_password_is_a_400_and_the_right_one_is_accepted(api):
    wrong = submit(api, "password-example.pdf", password="nope")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "wrong_password")
    right = submit(api, "password-example.pdf", password="test")
    assert right.status_code == 202
    job = Job.objects.get(document_id=right.json()["id"])
    assert "test" not in str(job.payload), "the password is stored sealed, never in clear"


@pytest.mark.parametrize("pages", ["0", "3-1", "a-b", "9", "²", "1-²", "1--2"])
def test_an_impossible_page_range_is_a_400(api, pages):
    response = submit(api, "pdflatex-4-pages.pdf", pages=pages)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_page_range"


def test_an_upload_over_the_limit_is_refused_with_413(api, settings):
    settings.MAX_UPLOAD_SIZE = 10_000
    response = submit(api, "pdflatex-4-pages.pdf")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert Document.objects.count() == 0


def test_an_invalid_field_is_a_400_naming_it(api):
    response = submit(api, retentionDays=5000)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("retentionDays:")


def test_an_unknown_document_is_a_json_404(api):
    response = api.get("/v1/documents/nope/status")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_crash_while_recording_a_submission_leaves_no_document_or_file(api, monkeypatch):
    def stored_files():
        return {path for path in (settings.DATA_DIR / "files").rglob("*") if path.is_file()}

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    before = stored_files()
    monkeypatch.setattr(queue, "enqueue", crash)
    response = submit(api)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert Document.objects.count() == 0
    assert stored_files() == before
