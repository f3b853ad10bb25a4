"""Direct uploads to S3 (`upload-url`, a PUT to the bucket, `upload-complete`) and originals
answered with a redirect to the bucket (S3_ORIGINAL_REDIRECT).

The bucket is moto in server mode, reached over HTTP; the PUTs and the redirected downloads are
real HTTP requests to it, as a client's would be. moto does not check signatures, so what the
bucket would refuse (another size or type than signed) is checked on the URL's signed headers.
"""

import hashlib
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from documents import services
from documents.models import Document
from jobs.models import Job
from tests.conftest import FIXTURES, padded_pdf, wait_until
from tests.documents import test_s3_storage
from tests.s3 import MULTIPART_THRESHOLD

s3_endpoint = test_s3_storage.s3_endpoint
bucket = test_s3_storage.bucket
s3_storage = test_s3_storage.s3_storage

PDF = (FIXTURES / "minimal-document.pdf").read_bytes()


def put(url: str, body: bytes, headers: dict) -> int:
    """PUT as a client would; a type is sent even when none was signed (urllib would send a
    form's, which moto then tries to parse)."""
    headers = {"Content-Type": "application/octet-stream", **headers}
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def download(url: str):
    """The body and the (case-insensitive) headers of a plain GET."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers


def upload_url(client, body: bytes = PDF, path: str = "/v1/documents/upload-url", **fields):
    request = {"fileName": "scan.pdf", "fileSize": len(body), "mimeType": "application/pdf"}
    return client.post(path, {**request, **fields}, format="json")


def uploaded(client, body: bytes = PDF, **fields) -> dict:
    """A document whose file was PUT to its upload URL, not completed yet."""
    answer = upload_url(client, body, **fields).json()
    assert put(answer["uploadUrl"], body, answer["uploadHeaders"]) == 200
    return answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_file_put_to_its_upload_url_is_converted_by_a_worker(client_a, s3_storage, workers):
    big = padded_pdf(MULTIPART_THRESHOLD + 1)
    answer = upload_url(client_a, big)
    assert answer.status_code == 200
    body = answer.json()
    assert body["expiresIn"] == 900
    assert body["completeUrl"] == f"/v1/documents/{body['id']}/upload-complete"
    assert body["uploadHeaders"] == {
        "Content-Length": str(len(big)),
        "Content-Type": "application/pdf",
    }
    document = Document.objects.get(id=body["id"])
    assert (document.status, document.original) == ("uploading", body["s3Key"])

    assert put(body["uploadUrl"], big, body["uploadHeaders"]) == 200
    workers(processes=1, concurrency=1, **s3_storage)
    assert client_a.get(f"/v1/documents/{body['id']}/status").json()["status"] == "uploading"
    assert not Job.objects.filter(document_id=body["id"]).exists(), "queued before completion"

    completed = client_a.post(body["completeUrl"])
    assert completed.status_code == 202
    assert completed.json()["status"] == "pending"
    assert completed.json()["statusUrl"] == f"/v1/documents/{body['id']}/status"
    assert completed.json()["message"] == "Upload confirmed, queued for processing"
    wait_until(
        lambda: client_a.get(f"/v1/documents/{body['id']}/status").json()["status"] == "completed",
        timeout=60,
    )
    assert (
        "Lorem ipsum dolor sit amet" in client_a.get(f"/v1/documents/{body['id']}").content.decode()
    )
    document.refresh_from_db()
    assert (document.file_size, document.mime_type) == (len(big), "application/pdf")
    assert document.sha256 == hashlib.sha256(big).hexdigest()


@pytest.mark.django_db
def test_the_upload_url_binds_the_declared_size_and_type_into_its_signature(client_a, s3_storage):
    body = upload_url(client_a).json()
    query = parse_qs(urlsplit(body["uploadUrl"]).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert query["X-Amz-Expires"] == ["900"]


@pytest.mark.django_db
def test_completing_queues_the_document_with_the_submissions_options(client_a, s3_storage):
    body = uploaded(client_a, mimeType="")
    answer = client_a.post(
        f"/v1/documents/{body['id']}/upload-complete",
        {"pages": "1", "priority": 9, "engine": "local"},
        format="json",
    )
    assert answer.status_code == 202
    job = Job.objects.get(document_id=body["id"])
    assert (job.type, job.priority, job.payload) == ("convert", 9, {"pages": "1"})
    document = Document.objects.get(id=body["id"])
    assert (document.status, document.engine, document.sha256) == (
        "pending",
        "local",
        hashlib.sha256(PDF).hexdigest(),
    )


@pytest.mark.django_db
def test_the_original_services_paths_answer_with_their_own_urls(client_a, s3_storage):
    answer = upload_url(client_a, path="/api/documents/upload-url").json()
    assert answer["completeUrl"] == f"/api/documents/upload-complete/{answer['id']}"
    put(answer["uploadUrl"], PDF, answer["uploadHeaders"])
    completed = client_a.post(answer["completeUrl"])
    assert completed.status_code == 202
    assert completed.json()["statusUrl"] == f"/api/documents/status/{answer['id']}"


@pytest.mark.django_db
def test_completing_twice_is_idempotent_and_queues_once(client_a, s3_storage):
    body = uploaded(client_a)
    first = client_a.post(body["completeUrl"])
    again = client_a.post(body["completeUrl"], {"priority": 0}, format="json")
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    assert Job.objects.filter(document_id=body["id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_completions_queue_the_document_once(client_a, s3_storage, monkeypatch):
    body = uploaded(client_a)
    document = Document.objects.get(id=body["id"])
    both_checked = threading.Barrier(2)
    check_file = services.check_file

    def checked_by_both(*args):
        check_file(*args)
        both_checked.wait(timeout=30)

    def complete(_) -> Document:
        try:
            return services.complete_direct_upload(document.id, document.api_key, {"priority": 5})
        finally:
            connection.close()

    monkeypatch.setattr(services, "check_file", checked_by_both)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(complete, range(2)))
    assert [answer.status for answer in answers] == ["pending", "pending"]
    assert Job.objects.filter(document_id=document.id).count() == 1


@pytest.mark.django_db
def test_completing_before_the_put_is_a_409_and_can_be_retried(client_a, s3_storage):
    body = upload_url(client_a).json()
    early = client_a.post(body["completeUrl"])
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "upload_missing"
    assert Document.objects.get(id=body["id"]).status == "uploading"

    put(body["uploadUrl"], PDF, body["uploadHeaders"])
    assert client_a.post(body["completeUrl"]).status_code == 202


@pytest.mark.django_db
def test_a_file_over_max_upload_size_is_a_413(client_a, s3_storage, settings):
    settings.MAX_UPLOAD_SIZE = len(PDF) - 1
    refused = upload_url(client_a)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "upload_too_large"
    assert not Document.objects.exists()

    settings.MAX_UPLOAD_SIZE = len(PDF)
    body = uploaded(client_a)
    settings.MAX_UPLOAD_SIZE = len(PDF) - 1  # or a bucket that took more than was signed
    answer = client_a.post(body["completeUrl"])
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "upload_too_large"
    assert Document.objects.get(id=body["id"]).status == "uploading"


@pytest.mark.django_db
def test_a_file_that_is_not_a_document_is_a_415_at_completion(client_a, s3_storage):
    text = b"just some text, not a PDF"
    body = uploaded(client_a, text, mimeType="")
    answer = client_a.post(body["completeUrl"])
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert not Job.objects.exists()

    declared = upload_url(client_a, mimeType="text/plain")
    assert declared.status_code == 415


@pytest.mark.django_db
def test_bad_fields_are_400s(client_a, s3_storage):
    assert upload_url(client_a, fileSize=0).status_code == 400
    assert client_a.post("/v1/documents/upload-url", {}, format="json").status_code == 400
    body = uploaded(client_a)
    answer = client_a.post(body["completeUrl"], {"pages": "9"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_page_range"


@pytest.mark.django_db
def test_another_keys_upload_is_404(client_a, key_b, s3_storage):
    body = uploaded(client_a)
    client_a.credentials(HTTP_AUTHORIZATION=f"Bearer {key_b}")
    answer = client_a.post(body["completeUrl"])
    assert answer.status_code == 404
    assert Document.objects.get(id=body["id"]).status == "uploading"


@pytest.mark.django_db
def test_local_storage_cannot_take_direct_uploads(client_a):
    answer = upload_url(client_a)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "direct_upload_unavailable"
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_deleting_an_upload_cancels_it_and_deletes_the_file(client_a, s3_storage, bucket):
    body = uploaded(client_a)
    answer = client_a.delete(f"/v1/documents/{body['id']}")
    assert answer.json()["status"] == "archived"
    assert not list(bucket.objects.filter(Prefix=body["s3Key"]))
    assert client_a.post(body["completeUrl"]).json()["status"] == "archived"
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_an_uploading_documents_content_is_not_ready(client_a, s3_storage):
    body = upload_url(client_a).json()
    answer = client_a.get(f"/v1/documents/{body['id']}")
    assert answer.status_code == 202
    assert answer.json()["status"] == "uploading"


# --- S3_ORIGINAL_REDIRECT -----------------------------------------------------------------------


@pytest.fixture
def stored(client_a, s3_storage) -> str:
    """A submitted document's id; its original is in the bucket."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("ünïcode report.pdf", PDF)
    return client_a.post("/v1/documents", {"file": file}, format="multipart").json()["id"]


@pytest.mark.django_db
def test_the_original_redirects_to_the_bucket_when_asked(client_a, stored, settings):
    settings.S3_ORIGINAL_REDIRECT = True
    answer = client_a.get(f"/v1/documents/{stored}/original")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer["Location"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    content, headers = download(answer["Location"])
    assert content == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert "%C3%BCn%C3%AFcode%20report.pdf" in headers["Content-Disposition"]


@pytest.mark.django_db
def test_the_original_streams_by_default(client_a, stored):
    answer = client_a.get(f"/v1/documents/{stored}/original")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PDF


@pytest.mark.django_db
def test_local_storage_streams_the_original_whatever_the_setting(client_a, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.S3_ORIGINAL_REDIRECT = True
    file = SimpleUploadedFile("a.pdf", PDF)
    document_id = client_a.post("/v1/documents", {"file": file}, format="multipart").json()["id"]
    answer = client_a.get(f"/v1/documents/{document_id}/original")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PDF
