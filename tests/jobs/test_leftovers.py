"""Nothing left behind, nothing in clear: temp files of killed processes, originals no document
references, and decrypted copies of password-protected PDFs.

`cleanup_orphans` is run in the test's process (time controlled by the `clock` fixture, on local
storage and on S3 through moto); the workers' own sweeps and the SIGKILL run real processes.
"""

import os
import signal
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection

from documents import leftovers, services, storage
from documents.models import Document
from fakes.mistral_server import FakeMistralServer
from ilios.ids import new_id
from tests.conftest import FIXTURES, fixture_upload, wait_until
from tests.s3 import start_moto, use_bucket

HOURS = 3600
ENCRYPTED_TEXT = "Backup4all"  # on the first page of password-example.pdf, behind its password
# The grace period, and ten minutes more: storage dates its objects by the real clock, which runs
# on (slowly, on a loaded machine) after the `clock` fixture froze the test's time.
PAST_THE_GRACE = leftovers.ORPHAN_GRACE.total_seconds() + 10 * 60


def temp_file(name: str, age_seconds: float = 0) -> Path:
    from django.conf import settings

    path = Path(settings.UPLOAD_TEMP_DIR) / name
    path.write_bytes(b"partial upload")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def orphan_original(age_seconds: float = 0) -> str:
    """An original stored with no document (a crash before the commit)."""
    key = storage.store_original(new_id(), ContentFile(b"%PDF-1.4 orphan"))
    if age_seconds:
        then = time.time() - age_seconds
        os.utime(default_storage.path(key), (then, then))
    return key


def cleanup_orphans() -> str:
    out = StringIO()
    call_command("cleanup_orphans", stdout=out)
    return out.getvalue()


@pytest.fixture(params=["local", "s3"])
def any_storage(request, settings, monkeypatch):
    if request.param == "s3":
        server, endpoint = start_moto()
        use_bucket(settings, monkeypatch, endpoint)
        yield "s3"
        server.stop()
    else:
        yield "local"


@pytest.mark.django_db
def test_cleanup_orphans_removes_temp_files_untouched_for_an_hour():
    stale = temp_file("tmpkilled.upload.pdf", age_seconds=HOURS + 60)
    fresh = temp_file("tmpstreaming.upload.pdf", age_seconds=60)

    assert "removed 1 stale temp file(s)" in cleanup_orphans()

    assert not stale.exists()
    assert fresh.exists()
    fresh.unlink()


@pytest.mark.django_db
def test_cleanup_orphans_deletes_unreferenced_originals_after_the_grace_period(
    any_storage, make_document, clock
):
    kept = make_document(b"a document that is still here")
    orphan = orphan_original()

    cleanup_orphans()
    assert default_storage.exists(orphan), "deleted during the grace period"

    clock.advance(PAST_THE_GRACE)
    assert "original(s) no document references" in cleanup_orphans()

    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept.original)


@pytest.fixture
def s3(settings, monkeypatch):
    server, endpoint = start_moto()
    use_bucket(settings, monkeypatch, endpoint)
    yield
    server.stop()


def direct_upload(uploads: bytes | None) -> Document:
    """A document created by `upload-url`, its file PUT to the bucket unless `uploads` is None."""
    document, url, headers = services.start_direct_upload(
        api_key=None,
        file_name="big.pdf",
        file_size=len(uploads or b"-"),
        mime_type="",
        retention_days=1,
    )
    if uploads is not None:
        headers = {"Content-Type": "application/pdf", **headers}
        request = urllib.request.Request(url, data=uploads, method="PUT", headers=headers)
        urllib.request.urlopen(request, timeout=30).close()
    return document


@pytest.mark.django_db
def test_cleanup_orphans_deletes_uploads_never_completed_after_the_grace_period(s3, clock):
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    put_not_completed = direct_upload(pdf)
    direct_upload(None)  # never PUT
    completed = direct_upload(pdf)
    services.complete_direct_upload(completed.id, None, {"priority": 5})

    assert "deleted 0 upload(s) never completed" in cleanup_orphans()
    clock.advance(PAST_THE_GRACE)
    just_started = direct_upload(None)
    assert "deleted 2 upload(s) never completed" in cleanup_orphans()

    remaining = set(Document.objects.values_list("id", flat=True))
    assert remaining == {completed.id, just_started.id}
    assert not default_storage.exists(put_not_completed.original)
    assert default_storage.exists(completed.original)


@pytest.mark.django_db
def test_an_archived_documents_original_that_could_not_be_deleted_is_swept(
    any_storage, make_document, clock
):
    document = make_document(b"archived while the storage was down")
    Document.objects.filter(id=document.id).update(status="archived", original="")

    clock.advance(PAST_THE_GRACE)
    cleanup_orphans()

    assert not default_storage.exists(document.original)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_workers_maintenance_sweeps_what_killed_processes_left(make_document, workers):
    kept = make_document(b"SLEEP=0")
    old = time.time() - 3 * 24 * HOURS
    os.utime(default_storage.path(kept.original), (old, old))
    stale_temp = temp_file("tmpkilled.upload.pdf", age_seconds=2 * HOURS)
    orphan = orphan_original(age_seconds=2 * 24 * HOURS)

    workers(processes=1, concurrency=1, MAINTENANCE_INTERVAL=0.2)

    wait_until(lambda: not stale_temp.exists() and not default_storage.exists(orphan))
    wait_until(lambda: Document.objects.get(id=kept.id).status == "completed")
    assert default_storage.exists(kept.original)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_decrypted_copies_left_by_an_earlier_version_are_removed_when_a_worker_starts(
    make_document, workers
):
    kept = make_document(b"a referenced original")
    originals_folder = Path(default_storage.path(kept.original)).parent
    beside_the_original = originals_folder / ".decrypted-k2j4h1.pdf"
    in_the_temp_folder = temp_file(".decrypted-9f8e7d.pdf")
    for copy in (beside_the_original, in_the_temp_folder):
        copy.write_bytes((FIXTURES / "minimal-document.pdf").read_bytes())

    workers(processes=1, concurrency=1, MAINTENANCE_INTERVAL=0.2)

    wait_until(lambda: not in_the_temp_folder.exists() and not beside_the_original.exists())
    assert default_storage.exists(kept.original)


def readable_copies_of_the_encrypted_pdf(directory: Path) -> list[Path]:
    """Files under `directory` that open without a password and show the protected text.

    The SQLite database's own files are never opened: closing any descriptor of a file drops
    every POSIX lock this process holds on it, and SQLite's would go with it.
    """
    database = Path(str(connection.settings_dict["NAME"])).name
    found = []
    for path in directory.rglob("*"):
        if not path.is_file() or path.name.startswith(database):
            continue
        try:
            document = pdfium.PdfDocument(str(path))
        except (pdfium.PdfiumError, OSError):
            continue
        try:
            text = document[0].get_textpage().get_text_range() if len(document) else ""
        finally:
            document.close()
        if ENCRYPTED_TEXT in text:
            found.append(path)
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_worker_killed_while_converting_a_protected_pdf_leaves_no_decrypted_copy(
    api, settings, workers
):
    from django.conf import settings as live

    with FakeMistralServer(latency_s=60) as mistral:
        settings.MISTRAL_API_KEY = "sk-test-leftovers"
        protected = fixture_upload("password-example.pdf")
        submitted = api.post(
            "/v1/documents",
            {"file": protected, "password": "test", "engine": "mistral"},
            format="multipart",
        )
        assert submitted.status_code == 202, submitted.content
        runner = workers(
            processes=1,
            concurrency=1,
            MISTRAL_API_KEY="sk-test-leftovers",
            MISTRAL_SERVER_URL=mistral.url,
        )
        wait_until(lambda: mistral.requests_to("ocr"), timeout=60)
        assert readable_copies_of_the_encrypted_pdf(live.DATA_DIR) == [], "it has a name"

        os.killpg(runner.process.pid, signal.SIGKILL)
        runner.process.wait()

    assert readable_copies_of_the_encrypted_pdf(live.DATA_DIR) == []
