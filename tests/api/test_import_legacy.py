"""`manage.py import_legacy`: a database of the original service, written by the original's own
schema SQL and the way its code writes rows, answers at Ilios's URLs as it did before."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from batches.models import Batch
from documents.models import Document
from fakes.original_database import OriginalDatabase
from ilios.models import ApiKey, hash_key
from jobs.models import Job
from tests.conftest import FIXTURES, wait_until
from tests.documents import test_s3_storage
from usage.models import UsageRecord

KEY_A = "original-key-alpha-0123456789"
KEY_B = "original-key-bravo-9876543210"
PDF = (FIXTURES / "minimal-document.pdf").read_bytes()

# The original's bucket: moto in server mode, shared with the S3 storage tests.
s3_endpoint = test_s3_storage.s3_endpoint
bucket = test_s3_storage.bucket
s3_storage = test_s3_storage.s3_storage


class Legacy:
    """The original's database, its bucket, and the ids of what was written to them."""

    def __init__(self, path, bucket):
        self.path = path
        self.db = OriginalDatabase(path)
        self.bucket = bucket
        self.ids: dict[str, str] = {}

    def upload(self, name, *, api_key, body=PDF, priority=1, **fields) -> str:
        """A submission: the document row, its file in the bucket, its convert job."""
        document_id = self.db.create_document(name, len(body), api_key=api_key, **fields)
        s3_key = self.row(document_id)["s3_key"]
        self.bucket.put_object(Key=s3_key, Body=body)
        self.db.create_job(document_id, priority)
        return document_id

    def row(self, document_id) -> sqlite3.Row:
        return self.db.connection.execute(
            "SELECT * FROM documents WHERE id = ?", (document_id,)
        ).fetchone()


@pytest.fixture
def legacy(tmp_path, bucket, s3_storage, settings) -> Legacy:
    """Two keys' documents in every state the original leaves them in, and a batch."""
    settings.API_KEY = f"{KEY_A},{KEY_B}"
    legacy = Legacy(tmp_path / "ilios.db", bucket)
    db = legacy.db
    ids = legacy.ids
    ids["done"] = legacy.upload("report.pdf", api_key=KEY_A, retention_days=30)
    db.convert(ids["done"], "# Report\n\nQuarterly figures.", pages=3, api_key=KEY_A)
    ids["failed"] = legacy.upload("broken.pdf", api_key=KEY_A)
    job = db.claim_next_job()
    db.update_job_and_document_status(
        job["id"], ids["failed"], "failed", error="OCR processing failed: timeout"
    )
    ids["other"] = legacy.upload("theirs.pdf", api_key=KEY_B)
    db.convert(ids["other"], "# Theirs", pages=1, api_key=KEY_B)
    ids["sync"] = db.create_document(
        "sync.pdf", len(PDF), api_key=KEY_B, s3_key="convert/1700000000000-sync.pdf"
    )
    db.update_document_status(ids["sync"], "completed", content="# Sync", metadata={})
    db.track_usage(ids["sync"], api_key=KEY_B, operation="convert-immediate", input_tokens=1500)
    ids["processing"] = legacy.upload("claimed.pdf", api_key=KEY_B)
    assert db.claim_next_job()["document_id"] == ids["processing"]
    ids["batch"] = db.create_batch(2, api_key=KEY_A, priority=8)
    ids["batch_done"] = legacy.upload("b1.pdf", api_key=KEY_A, batch_id=ids["batch"], priority=8)
    db.convert(ids["batch_done"], "# B1", pages=1, api_key=KEY_A)
    ids["batch_waiting"] = legacy.upload("b2.pdf", api_key=KEY_A, batch_id=ids["batch"], priority=8)
    db.update_batch_progress(ids["batch"])
    return legacy


def run_import(path, *args) -> str:
    out = StringIO()
    call_command("import_legacy", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def table(output: str) -> dict[str, tuple[int, int, int]]:
    """The summary table's rows: {table: (read, imported, skipped)}."""
    rows = {}
    for line in output.splitlines():
        name, *numbers = line.split()[:4] or [""]
        if name in ("batches", "documents", "usage", "job_queue", "workers"):
            rows[name] = tuple(int(n.replace(",", "")) for n in numbers)
    return rows


def keyed(api, key):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


@pytest.mark.django_db(transaction=True)
def test_imported_documents_answer_at_the_urls_clients_stored(legacy, api):
    run_import(legacy.path)
    client = keyed(api, KEY_A)
    done = legacy.ids["done"]

    status = client.get(f"/api/documents/status/{done}").json()
    markdown = client.get(f"/api/documents/{done}")
    as_json = client.get(f"/api/documents/{done}?format=json").json()
    original = client.get(f"/api/documents/{done}/original")
    failed = client.get(f"/api/documents/{legacy.ids['failed']}")

    assert status["status"] == "completed"
    assert markdown.content.decode() == "# Report\n\nQuarterly figures."
    assert as_json["metadata"]["extractedPages"] == 3
    assert as_json["metadata"]["model"] == "mistral-ocr-latest"
    assert b"".join(original.streaming_content) == PDF
    assert failed.status_code == 422
    assert failed.json()["error"]["message"] == "OCR processing failed: timeout"


@pytest.mark.django_db(transaction=True)
def test_documents_keep_their_times_retention_and_batch(legacy):
    run_import(legacy.path)
    row = legacy.row(legacy.ids["done"])

    document = Document.objects.get(id=legacy.ids["done"])
    in_batch = Document.objects.get(id=legacy.ids["batch_done"])

    assert document.created_at.timestamp() == row["created_at"]
    assert document.processed_at.timestamp() == row["processed_at"]
    assert document.retention_days == 30
    assert (document.expires_at - document.created_at).days == 30
    assert document.original == row["s3_key"]
    assert in_batch.batch_id == legacy.ids["batch"]


@pytest.mark.django_db(transaction=True)
def test_each_key_sees_only_its_own_documents(legacy, api):
    run_import(legacy.path)

    theirs = keyed(api, KEY_A).get(f"/api/documents/{legacy.ids['other']}")
    mine = keyed(api, KEY_B).get(f"/api/documents/{legacy.ids['other']}")

    assert theirs.status_code == 404
    assert mine.content.decode() == "# Theirs"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", [KEY_A, KEY_B])
def test_each_keys_usage_summary_equals_what_the_original_answered(legacy, api, key):
    run_import(legacy.path)
    original = legacy.db.usage_summary(key)

    summary = keyed(api, key).get("/api/usage/summary").json()

    assert summary["totalDocuments"] == original["totalDocuments"]
    assert summary["totalOperations"] == original["totalOperations"]
    assert summary["totalInputTokens"] == original["totalInputTokens"]
    assert summary["totalOutputTokens"] == original["totalOutputTokens"]
    assert summary["totalCostCents"] == original["totalCostCents"]
    assert summary["totalCostMicros"] == original["totalCostCents"] * 10_000


@pytest.mark.django_db(transaction=True)
def test_usage_is_converted_exactly_from_cents_and_a_margin_percentage(legacy):
    legacy.db.connection.execute(
        "UPDATE usage SET base_cost_cents = 7, margin_rate = 25, total_cost_cents = 9 "
        "WHERE document_id = ?",
        (legacy.ids["done"],),
    )
    run_import(legacy.path)

    record = UsageRecord.objects.get(document_id=legacy.ids["done"])
    sync = UsageRecord.objects.get(document_id=legacy.ids["sync"])

    assert record.base_cost_micros == 70_000
    assert record.margin_rate == Decimal("0.25")
    assert record.total_cost_micros == 90_000  # what the original billed, its rounding kept
    assert record.operation == UsageRecord.Operation.CONVERT
    assert record.pages == 3
    assert sync.operation == UsageRecord.Operation.SYNC_CONVERT


@pytest.mark.django_db(transaction=True)
def test_a_document_the_original_billed_twice_keeps_both_amounts(legacy, api):
    legacy.db.track_usage(legacy.ids["done"], api_key=KEY_A, operation="convert", input_tokens=2500)
    original = legacy.db.usage_summary(KEY_A)

    output = run_import(legacy.path)
    summary = keyed(api, KEY_A).get("/api/usage/summary").json()

    assert UsageRecord.objects.filter(document_id=legacy.ids["done"]).count() == 1
    assert summary["totalCostCents"] == original["totalCostCents"]
    assert summary["totalInputTokens"] == original["totalInputTokens"]
    assert "usage rows merged: the original billed a document twice" in output


@pytest.mark.django_db(transaction=True)
def test_batches_keep_their_counters_status_and_documents(legacy, api):
    run_import(legacy.path)

    status = keyed(api, KEY_A).get(f"/v1/batch/status/{legacy.ids['batch']}").json()
    batch = Batch.objects.get(id=legacy.ids["batch"])

    assert status["status"] == "processing"
    assert status["progress"]["total"] == 2
    assert status["progress"]["completed"] == 1
    assert status["progress"]["pending"] == 1
    assert batch.priority == 8
    assert batch.api_key.key_hash == hash_key(KEY_A)


@pytest.mark.django_db(transaction=True)
def test_an_imported_batch_keeps_its_upload_order(legacy, api):
    legacy.db.connection.execute(  # the second file's row made a second earlier: rows decide
        "UPDATE documents SET created_at = created_at - 10 WHERE id = ?",
        (legacy.ids["batch_waiting"],),
    )
    run_import(legacy.path)

    status_url = f"/v1/batch/status/{legacy.ids['batch']}?details=true"
    details = keyed(api, KEY_A).get(status_url).json()["documents"]
    assert [d["fileName"] for d in details] == ["b1.pdf", "b2.pdf"]


@pytest.mark.django_db(transaction=True)
def test_documents_the_original_never_finished_become_pending_jobs(legacy):
    legacy.db.connection.execute(
        "UPDATE job_queue SET status = 'retrying' WHERE document_id = ?",
        (legacy.ids["batch_waiting"],),
    )
    run_import(legacy.path)

    jobs = {job.document_id: job for job in Job.objects.all()}
    unfinished = [legacy.ids["batch_waiting"], legacy.ids["processing"]]

    assert set(jobs) == set(unfinished)
    assert {job.status for job in jobs.values()} == {Job.Status.PENDING}
    assert jobs[legacy.ids["batch_waiting"]].priority == 8  # its batch's, as in the original
    assert jobs[legacy.ids["processing"]].priority == 1  # a single document's, as there
    for document in Document.objects.filter(id__in=unfinished):
        assert document.status == Document.Status.PENDING
        assert document.engine == "local"  # this server's engine: the original had only Mistral


@pytest.mark.django_db(transaction=True)
def test_a_failed_document_the_original_was_about_to_retry_is_retried_here(legacy):
    """The original's worker marks the document failed, then calls a `failJob` its database
    service does not have: the job stays `processing` until orphan cleanup retries it."""
    waiting = legacy.ids["batch_waiting"]
    job = legacy.db.claim_next_job()
    assert job["document_id"] == waiting
    legacy.db.update_document_status(waiting, "failed", error="Mistral 503")
    legacy.db.update_batch_progress(legacy.ids["batch"])

    run_import(legacy.path)

    document = Document.objects.get(id=waiting)
    batch = Batch.objects.get(id=legacy.ids["batch"])
    assert (document.status, document.error) == (Document.Status.PENDING, "")
    assert Job.objects.get(document=document).status == Job.Status.PENDING
    assert (batch.status, batch.completed_documents, batch.failed_documents) == (
        Batch.Status.PROCESSING,
        1,
        0,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_workers_finish_what_the_original_did_not(legacy, workers, s3_storage):
    run_import(legacy.path)

    workers(**s3_storage)

    def finished():
        return not Document.objects.filter(status__in=["pending", "processing"]).exists()

    wait_until(finished, timeout=60)
    batch = Batch.objects.get(id=legacy.ids["batch"])
    waiting = Document.objects.get(id=legacy.ids["batch_waiting"])
    assert waiting.status == Document.Status.COMPLETED
    assert "Lorem ipsum dolor sit amet" in waiting.content
    assert (batch.status, batch.completed_documents) == (Batch.Status.COMPLETED, 2)
    assert UsageRecord.objects.filter(document=waiting, api_key__key_hash=hash_key(KEY_A)).exists()


@pytest.mark.django_db(transaction=True)
def test_running_it_twice_imports_nothing_twice(legacy):
    run_import(legacy.path)
    counts = (Document.objects.count(), UsageRecord.objects.count(), Job.objects.count())

    output = run_import(legacy.path)

    assert (Document.objects.count(), UsageRecord.objects.count(), Job.objects.count()) == counts
    assert ApiKey.objects.count() == 2
    assert table(output)["documents"] == (counts[0], 0, counts[0])


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_writes_nothing_and_reports_what_a_run_would_do(legacy):
    dry = run_import(legacy.path, "--dry-run")

    assert Document.objects.count() == UsageRecord.objects.count() == ApiKey.objects.count() == 0
    real = run_import(legacy.path)
    assert dry.splitlines()[1:] == real.splitlines()[1:]
    assert table(real) == {
        "batches": (1, 1, 0),
        "documents": (7, 7, 0),
        "usage": (4, 4, 0),
        "job_queue": (6, 2, 4),
        "workers": (0, 0, 0),
    }


@pytest.mark.django_db(transaction=True)
def test_keys_are_stored_hashed_and_never_printed(legacy, settings):
    settings.API_KEY = KEY_A
    output = run_import(legacy.path)

    keys = {key.key_hash: key for key in ApiKey.objects.all()}

    assert set(keys) == {hash_key(KEY_A), hash_key(KEY_B)}
    assert KEY_A not in output and KEY_B not in output
    assert keys[hash_key(KEY_A)].active and not keys[hash_key(KEY_B)].active
    assert "orig… sha256:" in output
    assert "no: add it to keep its access" in output


@pytest.mark.django_db(transaction=True)
def test_originals_are_copied_into_the_configured_storage_and_their_size_checked(
    legacy,
    settings,
    s3_storage,
    tmp_path,
):
    source_env = tmp_path / "original.env"
    source_env.write_text(
        "".join(f"{name}={s3_storage[name]}\n" for name in ("S3_BUCKET", "AWS_ENDPOINT_URL_S3"))
        + "AWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY=testing\n"
    )
    legacy.bucket.put_object(Key=legacy.row(legacy.ids["other"])["s3_key"], Body=b"not it")
    settings.S3_BUCKET = ""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "documents.disk.DurableFileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "files")},
    }}  # fmt: skip

    output = run_import(legacy.path, "--copy-originals", f"--source-env={source_env}")

    done = Document.objects.get(id=legacy.ids["done"])
    other = Document.objects.get(id=legacy.ids["other"])
    assert (tmp_path / "files" / done.original).read_bytes() == PDF
    assert done.original == f"originals/{done.id[:2]}/{done.id}"
    assert len(done.sha256) == 64
    assert other.original == "" and other.content == "# Theirs"
    assert "is not the one uploaded" in output


@pytest.mark.django_db(transaction=True)
def test_originals_missing_from_the_configured_bucket_are_reported(legacy):
    for key in [row["s3_key"] for row in legacy.db.connection.execute("SELECT * FROM documents")]:
        legacy.bucket.delete_objects(Delete={"Objects": [{"Key": key}]})

    output = run_import(legacy.path)

    assert "3  of the first 3 originals, not in S3_BUCKET 'ilios-test'" in output


@pytest.mark.django_db(transaction=True)
def test_originals_cannot_be_left_in_a_bucket_ilios_does_not_use(legacy, settings):
    settings.S3_BUCKET = ""

    with pytest.raises(CommandError, match="set S3_BUCKET .* or pass --copy-originals"):
        run_import(legacy.path)
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_database_of_another_schema_is_refused_and_nothing_imported(tmp_path):
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE documents (id text primary key, name text)")
    other.commit()

    with pytest.raises(CommandError, match="not a database of the original Ilios service"):
        run_import(tmp_path / "other.db")
    assert ApiKey.objects.count() == Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_damaged_file_is_refused_and_nothing_imported(legacy):
    legacy.db.close()
    data = bytearray(legacy.path.read_bytes())  # the WAL was checkpointed on close
    data[4096:8192] = b"\xff" * 4096  # overwrite the second page
    legacy.path.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="damaged"):
        run_import(legacy.path)
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "ilios.db"
    path.write_bytes((FIXTURES / "minimal-document.pdf").read_bytes())

    with pytest.raises(CommandError, match="not an SQLite database"):
        run_import(path)


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_is_refused_and_nothing_imported(legacy, monkeypatch):
    from jobs import legacy_import

    monkeypatch.setattr(legacy_import, "LOCK_TIMEOUT_SECONDS", 0.1)
    legacy.db.connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    legacy.db.connection.execute("BEGIN EXCLUSIVE")

    with pytest.raises(CommandError, match="locked by another process"):
        run_import(legacy.path)
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_database_written_by_the_original_service_itself_imports_intact(
    tmp_path, bucket, s3_storage, settings, api
):
    """tests/fixtures/original-service.db: the original, run with Bun, after two keys submitted
    a document, a synchronous conversion and a batch of two, and a last document it was killed
    before converting (scripts/record_original_database.py)."""
    settings.API_KEY = f"{KEY_A},{KEY_B}"
    path = tmp_path / "ilios.db"
    shutil.copyfile(FIXTURES / "original-service.db", path)
    legacy = sqlite3.connect(path)
    legacy.row_factory = sqlite3.Row
    rows = legacy.execute("SELECT * FROM documents").fetchall()
    for row in rows:
        if row["s3_key"].startswith("documents/"):  # the /v1/convert one was never stored
            bucket.put_object(Key=row["s3_key"], Body=(FIXTURES / row["file_name"]).read_bytes())
    original = OriginalDatabase(path)

    run_import(path)

    for row in rows:
        client = keyed(api, row["api_key"])
        answer = client.get(f"/api/documents/{row['id']}")
        if row["status"] == "completed":
            assert answer.content.decode() == row["content"]
            as_json = client.get(f"/api/documents/{row['id']}?format=json").json()
            assert as_json["metadata"] == json.loads(row["metadata"])
        else:
            assert answer.status_code == 202
            assert Job.objects.get(document_id=row["id"]).status == Job.Status.PENDING
        if not row["s3_key"].startswith("convert/"):
            original_file = client.get(f"/api/documents/{row['id']}/original")
            assert len(b"".join(original_file.streaming_content)) == row["file_size"]
    for key in (KEY_A, KEY_B):
        summary = keyed(api, key).get("/api/usage/summary").json()
        expected = original.usage_summary(key)
        assert {name: summary[name] for name in expected} == expected
    for batch in legacy.execute("SELECT * FROM batches"):
        status = keyed(api, batch["api_key"]).get(f"/v1/batch/status/{batch['id']}").json()
        assert status["status"] == batch["status"]
        assert status["progress"]["completed"] == batch["completed_documents"]
        assert status["progress"]["total"] == batch["total_documents"]
    assert Document.objects.count() == len(rows)
    assert ApiKey.objects.count() == 2
