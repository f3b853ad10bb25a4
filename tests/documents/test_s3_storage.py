"""Originals on S3 (moto in server mode, over HTTP): upload, multipart, download, conversion."""

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from documents.models import Document
from tests.conftest import FIXTURES, wait_until

BUCKET = "ilios-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
MULTIPART_THRESHOLD = 5 * 2**20  # S3's smallest part size


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    return boto3.resource(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Bucket(BUCKET)


@pytest.fixture
def s3_storage(settings, s3_endpoint, monkeypatch):
    """Point the default storage at the bucket, as S3_BUCKET and friends would."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.S3_BUCKET = BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "documents.s3.DiskBackedS3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "file_overwrite": True,
                "transfer_config": TransferConfig(
                    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
                ),
            },
        },
    }
    return {
        "S3_BUCKET": BUCKET,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_REGION": "us-east-1",
        "S3_MULTIPART_THRESHOLD": str(MULTIPART_THRESHOLD),
        **CREDENTIALS,
    }


def padded_pdf(size: int) -> bytes:
    """A real corpus PDF grown past `size` with a trailing comment, which readers ignore."""
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    return pdf + b"\n%" + b"x" * (size - len(pdf)) + b"\n"


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
