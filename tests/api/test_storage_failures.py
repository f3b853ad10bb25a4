"""Storage that is full, read-only or unreachable: 507 `storage_full` or 503 `storage_unavailable`
(with Retry-After), nothing left behind, no conversion paid for in vain, and /health says so.

Real failures: a tiny tmpfs fills up (ENOSPC), a read-only one refuses writes (EROFS), and a
moto server that was stopped refuses connections.
"""

import os
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import Batch
from documents import engines
from documents.models import Document
from fakes.mistral_server import FakeMistralServer
from tests.conftest import padded_pdf
from tests.disks import files_under, mounted_tmpfs
from tests.s3 import start_moto, use_bucket

pytestmark = pytest.mark.django_db

LARGER_THAN_THE_DISK = 300_000  # bytes; the small disks hold 64 KiB


def big_pdf(name: str = "big.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, padded_pdf(LARGER_THAN_THE_DISK))


def submit(api, **extra):
    return api.post("/v1/documents", {"file": big_pdf(), **extra}, format="multipart")


def convert_with_mistral(api):
    return api.post("/v1/convert", {"file": big_pdf(), "engine": "mistral"}, format="multipart")


def open_files_under(directory: Path) -> list[str]:
    """Files under `directory` this process still holds open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            held.append(target)
    return held


def local_storage_in(settings, directory: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "documents.disk.DurableFileSystemStorage",
            "OPTIONS": {"location": str(directory)},
        },
    }


@pytest.fixture
def full_temp_disk(settings, tmp_path):
    """Uploads land on a disk too small for them."""
    with mounted_tmpfs(tmp_path / "tmp") as disk:
        settings.FILE_UPLOAD_TEMP_DIR = str(disk)
        settings.UPLOAD_TEMP_DIR = disk
        yield disk


@pytest.fixture
def full_storage_disk(settings, tmp_path):
    """Originals go to a disk too small for them (another volume than the temp directory)."""
    with mounted_tmpfs(tmp_path / "files") as disk:
        local_storage_in(settings, disk)
        yield disk


@pytest.fixture
def read_only_storage_disk(settings, tmp_path):
    with mounted_tmpfs(tmp_path / "files", read_only=True) as disk:
        local_storage_in(settings, disk)
        yield disk


@pytest.fixture
def mistral(settings):
    """The Mistral engine against the fake server, which records every OCR call (each is paid)."""
    with FakeMistralServer() as server:
        settings.MISTRAL_API_KEY = "sk-test-storage-failures"
        settings.MISTRAL_SERVER_URL = server.url
        engines.get_engine.cache_clear()
        yield server
    engines.get_engine.cache_clear()


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if status == 503:
        assert int(response["Retry-After"]) > 0


def test_an_upload_that_fills_the_temp_disk_is_507_and_leaves_no_file(api, full_temp_disk):
    assert_error(submit(api), 507, "storage_full")
    assert files_under(full_temp_disk) == []
    assert open_files_under(full_temp_disk) == []
    assert not Document.objects.exists()


def test_an_original_that_fills_the_storage_disk_is_507_and_no_partial_file_is_left(
    api, full_storage_disk
):
    response = submit(api)
    assert_error(response, 507, "storage_full")
    assert "storage is full" in response.json()["error"]["message"]
    assert files_under(full_storage_disk) == []
    assert not Document.objects.exists()


def test_a_read_only_storage_disk_is_503_and_nothing_is_kept(api, read_only_storage_disk):
    assert_error(submit(api), 503, "storage_unavailable")
    assert not Document.objects.exists()


def test_a_batch_that_fills_the_storage_disk_is_507_and_keeps_no_file(api, full_storage_disk):
    small = SimpleUploadedFile("small.pdf", padded_pdf(20_000))
    response = api.post("/v1/batch/submit", {"files": [small, big_pdf()]}, format="multipart")
    assert_error(response, 507, "storage_full")
    assert files_under(full_storage_disk) == []
    assert not Batch.objects.exists() and not Document.objects.exists()


def test_convert_stores_the_upload_before_calling_the_engine(api, full_storage_disk, mistral):
    response = convert_with_mistral(api)
    assert_error(response, 507, "storage_full")
    assert mistral.requests_to("ocr") == [], "the engine was called for an upload not stored"
    assert files_under(full_storage_disk) == []


def test_a_converted_upload_is_stored_and_its_original_kept(api, mistral):
    response = convert_with_mistral(api)
    assert response.status_code == 200
    document = Document.objects.get(id=response["X-Document-Id"])
    assert default_storage.size(document.original) == len(padded_pdf(LARGER_THAN_THE_DISK))


def test_a_conversion_that_fails_deletes_the_original_it_stored(api, mistral):
    stored_before = files_under(Path(default_storage.location))
    mistral.fail_next(status=500)
    response = convert_with_mistral(api)
    assert_error(response, 503, "engine_unavailable")
    assert not Document.objects.exists()
    assert files_under(Path(default_storage.location)) == stored_before


@pytest.mark.parametrize(
    ("disk", "status"),
    [("full_storage_disk", "full"), ("read_only_storage_disk", "unavailable")],
)
def test_health_is_503_when_originals_cannot_be_stored(client, request, disk, status):
    directory = request.getfixturevalue(disk)
    if status == "full":
        (directory / "filler").write_bytes(b"x" * 60_000)  # what uploads left of the disk
        with pytest.raises(OSError):
            (directory / "more").write_bytes(b"x" * 8192)
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["services"]["database"] == "connected"
    assert body["services"]["storage"]["status"] == status


@pytest.fixture
def unreachable_bucket(settings, monkeypatch, api):
    """A bucket that held one original, then stopped answering."""
    server, endpoint = start_moto()
    use_bucket(settings, monkeypatch, endpoint)
    stored = submit(api).json()["id"]
    server.stop()
    return stored


def test_with_the_bucket_unreachable_every_endpoint_that_needs_it_is_503(
    api, client, unreachable_bucket, mistral
):
    assert_error(submit(api), 503, "storage_unavailable")
    batch = api.post("/v1/batch/submit", {"files": [big_pdf()]}, format="multipart")
    assert_error(batch, 503, "storage_unavailable")
    assert_error(convert_with_mistral(api), 503, "storage_unavailable")
    assert mistral.requests_to("ocr") == [], "the engine was called for an upload not stored"
    original = api.get(f"/v1/documents/{unreachable_bucket}/original")
    assert_error(original, 503, "storage_unavailable")
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["services"]["s3"] == "unavailable"
    assert health.json()["services"]["storage"] == {
        "backend": "s3",
        "status": "unavailable",
        "error": health.json()["services"]["storage"]["error"],
    }
    assert list(Document.objects.values_list("id", flat=True)) == [unreachable_bucket]
    assert not Batch.objects.exists()
