"""Originals on S3 (moto in server mode, over HTTP): upload, multipart, download, conversion."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from tests.conftest import FIXTURES, padded_pdf, wait_until
from tests.s3 import MULTIPART_THRESHOLD, bucket_at, start_moto, use_bucket


@pytest.fixture(scope="module")
def s3_endpoint():
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    return bucket_at(s3_endpoint)


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    return use_bucket(settings, monkeypatch, s3_endpoint)


@pytest.mark.django_db
def test_an_original_goes_to_the_bucket_and_streams_back(api, s3_storage, bucket):
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    body = api.post(
        "/v1/documents", {"file": SimpleUploadedFile("a.pdf", pdf)}, format="multipart"
    ).json()
    key = Document.objects.get(id=body["id"]).original
    assert bucket.Object(key).get()["Body"].read() == pdf
    response = api.get(f"/v1/documents/{body['id']}/original")
    assert b"".join(response.streaming_content) == pdf


@pytest.mark.django_db
def test_a_file_above_the_threshold_is_uploaded_in_parts(api, s3_storage, bucket):
    big = padded_pdf(2 * MULTIPART_THRESHOLD + 1000)
    body = api.post(
        "/v1/documents", {"file": SimpleUploadedFile("big.pdf", big)}, format="multipart"
    ).json()
    stored = bucket.Object(Document.objects.get(id=body["id"]).original)
    assert stored.content_length == len(big)
    assert stored.e_tag.strip('"').endswith("-3"), "a multipart upload's ETag counts its parts"


@pytest.mark.django_db
def test_a_file_below_the_threshold_is_one_put(api, s3_storage, bucket):
    body = api.post(
        "/v1/documents",
        {"file": SimpleUploadedFile("a.pdf", padded_pdf(10_000))},
        format="multipart",
    ).json()
    assert "-" not in bucket.Object(Document.objects.get(id=body["id"]).original).e_tag


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_worker_converts_a_document_stored_on_s3(api, s3_storage, workers):
    body = api.post(
        "/v1/documents",
        {"file": SimpleUploadedFile("a.pdf", padded_pdf(MULTIPART_THRESHOLD + 1))},
        format="multipart",
    ).json()
    workers(processes=1, concurrency=1, **s3_storage)
    wait_until(lambda: api.get(body["statusUrl"]).json()["status"] == "completed", timeout=60)
    assert "Lorem ipsum dolor sit amet" in api.get(f"/v1/documents/{body['id']}").content.decode()
