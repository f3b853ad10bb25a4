"""Imports the original service's SQLite database (`tobalo/ilios`: `src/db/schema.ts`).

The original kept documents, usage, batches and its job queue in one SQLite file, with unix-second
timestamps, JSON in text columns, money in integer cents with the margin as a percentage, and
API keys in clear. Its users' clients stored document URLs, so documents and batches keep their
ids; every distinct key becomes an ApiKey stored hashed (`ilios.models.hash_key`), and the money
is converted exactly (a cent is 10,000 micro-dollars).

Safe to run twice, or again after a crash: a document, its usage records and its new job are
written in one transaction, and a document already here is skipped with all that belongs to it.
Memory stays flat: documents are read in chunks (and their usage by document id), and each chunk
commits on its own. The legacy file is opened read-only and read inside one read transaction, a
consistent snapshot even while the original service still writes to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from batches import progress
from batches.models import Batch
from documents import engines, storage
from documents.models import PRIORITY_RANGE, Document
from ilios.auth import environment_keys
from ilios.models import ApiKey, hash_key
from jobs import queue
from usage.models import UsageRecord
from usage.money import MICROS_PER_CENT

# The columns Ilios reads, per table. `batches` (added in v2.1) and documents' `batch_id` may be
# missing from a database of an older version; `workers` (v2.0) is runtime state, never imported.
REQUIRED_COLUMNS = {
    "documents": {
        "id", "file_name", "mime_type", "file_size", "s3_key", "content", "metadata", "status",
        "error", "created_at", "processed_at", "archived_at", "retention_days", "api_key",
    },
    "usage": {
        "id", "document_id", "api_key", "operation", "input_tokens", "output_tokens",
        "base_cost_cents", "margin_rate", "total_cost_cents", "created_at",
    },
    "job_queue": {"id", "document_id", "type", "status"},
}  # fmt: skip
BATCH_COLUMNS = {
    "id", "api_key", "total_documents", "completed_documents", "failed_documents", "status",
    "priority", "created_at", "completed_at", "metadata",
}  # fmt: skip
MISTRAL_BATCH_COLUMNS = ("mistral_batch_job_id", "mistral_input_file_id", "mistral_output_file_id")

ACTIVE_JOB_STATUSES = ("pending", "processing", "retrying")
# The original's /v1/convert and Mistral-batch documents name a key it never uploaded to.
NEVER_STORED_PREFIXES = ("convert/", "batch-mistral/")
NEVER_STORED_ERROR = (
    "the original service never stored this file (it was converting it in a request, or had "
    "sent it to Mistral's Batch API) and stopped before finishing it: submit it again"
)
MISSING_ORIGINAL_ERROR = "the original file is missing from the original service's bucket"
OPERATIONS = {"convert": UsageRecord.Operation.CONVERT}
OPERATIONS["convert-immediate"] = UsageRecord.Operation.SYNC_CONVERT
# The original queued single documents at priority 1 and batch documents at the batch's.
SINGLE_DOCUMENT_PRIORITY = 1
CHUNK_ROWS = 500
CHUNK_BYTES = 16 * 2**20
LOCK_TIMEOUT_SECONDS = 5.0
ORIGINALS_SAMPLED = 3
# The original's own default (src/services/index.ts) for the bucket its files are in; its
# endpoint's is settings.TIGRIS_ENDPOINT, Ilios's own default too.
ORIGINAL_S3_BUCKET = "convert-docs"


class LegacyDatabaseError(Exception):
    """The file is not a readable database of the original service; nothing was imported."""


@dataclass
class Tally:
    read: int = 0
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] += count


@dataclass
class LegacyKey:
    """One API key of the original. The key itself is kept out of every repr and report."""

    raw: str = field(repr=False)
    api_key_id: int
    in_api_key: bool
    documents: int = 0
    usage_records: int = 0

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.raw)


@dataclass
class Report:
    tallies: dict[str, Tally]
    keys: list[LegacyKey] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)


def key_fingerprint(raw_key: str) -> str:
    """How the operator recognises a key without seeing it: a few leading characters (never more
    than a quarter of the key) and the start of its SHA-256, which `sha256sum` reproduces."""
    shown = raw_key[: min(4, len(raw_key) // 4)]
    return f"{shown}… sha256:{hashlib.sha256(raw_key.encode()).hexdigest()[:8]}"


# --- Reading the legacy file --------------------------------------------------------------------


@contextlib.contextmanager
def open_legacy(path: Path) -> Iterator[sqlite3.Connection]:
    """The legacy database, read-only, checked, inside one read transaction (a snapshot)."""
    if not path.is_file():
        raise LegacyDatabaseError(f"{path}: no such file")
    try:
        legacy = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=LOCK_TIMEOUT_SECONDS
        )
    except sqlite3.Error as exc:
        raise LegacyDatabaseError(f"{path} cannot be opened: {exc}") from None
    legacy.row_factory = sqlite3.Row
    try:
        try:
            legacy.execute("BEGIN")
            check = [row[0] for row in legacy.execute("PRAGMA quick_check")]
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LegacyDatabaseError(
                    f"{path} is locked by another process: stop the original service (or wait "
                    "for its write to finish) and run the import again"
                ) from None
            raise LegacyDatabaseError(f"{path} cannot be read: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise LegacyDatabaseError(
                f"{path} is not an SQLite database, or is damaged or encrypted ({exc})"
            ) from None
        if check != ["ok"]:
            raise LegacyDatabaseError(f"{path} is damaged: {'; '.join(check[:5])}")
        yield legacy
    finally:
        legacy.close()


def columns_of(legacy: sqlite3.Connection, table: str) -> set[str]:
    return {row["name"] for row in legacy.execute(f"PRAGMA table_info({table})")}


def check_schema(legacy: sqlite3.Connection, path: Path) -> dict[str, set[str]]:
    """The columns of every table the import reads; a clear error if this is not the schema."""
    found = {table: columns_of(legacy, table) for table in (*REQUIRED_COLUMNS, "batches")}
    problems = []
    for table, required in REQUIRED_COLUMNS.items():
        if not found[table]:
            problems.append(f"no table {table!r}")
        elif missing := required - found[table]:
            problems.append(f"table {table!r} lacks {', '.join(sorted(missing))}")
    if found["batches"] and (missing := BATCH_COLUMNS - found["batches"]):
        problems.append(f"table 'batches' lacks {', '.join(sorted(missing))}")
    if problems:
        raise LegacyDatabaseError(
            f"{path} is not a database of the original Ilios service ({'; '.join(problems)})"
        )
    return found


def moment(value: Any) -> datetime | None:
    """The original stores times as unix seconds (Drizzle's `mode: 'timestamp'`)."""
    return None if value is None else created(value)


def created(value: Any) -> datetime:
    if value is None:
        raise ValueError("no created_at")
    return datetime.fromtimestamp(int(value), UTC)


def json_object(text: str | None) -> dict:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {"legacyMetadata": value}


def clamp_priority(value: Any) -> int:
    return max(PRIORITY_RANGE[0], min(PRIORITY_RANGE[1], int(value)))


def chunks(rows: Iterator[sqlite3.Row], size_of: Callable[[sqlite3.Row], int]):
    """Rows in lists of at most CHUNK_ROWS rows or CHUNK_BYTES of text, whichever comes first."""
    chunk: list[sqlite3.Row] = []
    size = 0
    for row in rows:
        chunk.append(row)
        size += size_of(row)
        if len(chunk) >= CHUNK_ROWS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# --- Originals ---------------------------------------------------------------------------------


class OriginalsSource:
    """The original service's bucket, read to copy originals into Ilios's storage.

    Configured with the original's own setting names and defaults (its `.env`): the endpoint
    defaults to Tigris and the bucket to `convert-docs`, as in its `src/services/index.ts`.
    """

    def __init__(self, env: Mapping[str, str | None]):
        self.bucket = env.get("S3_BUCKET") or ORIGINAL_S3_BUCKET
        self.client = boto3.client(
            "s3",
            endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or settings.TIGRIS_ENDPOINT,
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            region_name=env.get("AWS_REGION") or "auto",
        )

    def size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def copy(self, key: str, document_id: str, expected_size: int) -> tuple[str, str] | None:
        """Copy one original into the configured storage; (stored key, sha256), or None when
        the source has no such object. A copy of another size than recorded is an error."""
        if self.size(key) is None:
            return None
        with tempfile.NamedTemporaryFile(dir=settings.UPLOAD_TEMP_DIR, prefix="legacy-") as copy:
            digest = hashlib.sha256()
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for block in iter(lambda: body.read(2**20), b""):
                digest.update(block)
                copy.write(block)
            copy.flush()
            received = copy.tell()
            if received != expected_size:
                raise OriginalSizeMismatch(key, expected_size, received)
            copy.seek(0)
            stored = default_storage.save(storage.original_key(document_id), File(copy))
        if (stored_size := default_storage.size(stored)) != expected_size:
            storage.delete_original(stored)
            raise OriginalSizeMismatch(key, expected_size, stored_size)
        return stored, digest.hexdigest()


class OriginalSizeMismatch(Exception):
    def __init__(self, key: str, expected: int, found: int):
        super().__init__(f"{key}: {found} bytes where the original recorded {expected}")


# --- The import --------------------------------------------------------------------------------


class Importer:
    def __init__(
        self,
        legacy: sqlite3.Connection,
        columns: dict[str, set[str]],
        originals: OriginalsSource | None,
        dry_run: bool,
        progress_to: Callable[[int, int], None],
    ):
        self.legacy = legacy
        self.columns = columns
        self.originals = originals
        self.dry_run = dry_run
        self.progress_to = progress_to
        self.report = Report(
            {name: Tally() for name in ("batches", "documents", "usage", "job_queue", "workers")}
        )
        self.key_ids: dict[str, int] = {}
        self.batch_priority: dict[str, int] = {}
        self.engine_for_unfinished = engines.resolve(None)
        self.originals_sampled = 0
        self.active_jobs: dict[str, int] = {}  # document id: its live convert jobs

    def run(self) -> Report:
        self.import_keys()
        if self.columns["batches"]:
            self.import_batches()
        self.import_documents()
        self.count_leftovers()
        return self.report

    def count(self, sql: str, params: tuple = ()) -> int:
        return self.legacy.execute(sql, params).fetchone()[0]

    # -- keys

    def import_keys(self) -> None:
        """Every distinct key becomes an ApiKey, stored hashed, active when it is in API_KEY.

        Keys count as configured by API_KEY (as they were in the original): one left out of it
        stays revoked, as the original refused it, and adding it later restores its access.
        """
        sources = ["documents", "usage"] + (["batches"] if self.columns["batches"] else [])
        union = " UNION ".join(
            f"SELECT api_key FROM {table} WHERE api_key IS NOT NULL" for table in sources
        )
        configured = set(environment_keys())
        documents = dict(
            self.legacy.execute("SELECT api_key, count(*) FROM documents GROUP BY api_key")
        )
        usage = dict(self.legacy.execute("SELECT api_key, count(*) FROM usage GROUP BY api_key"))
        with transaction.atomic():
            for (raw,) in self.legacy.execute(union):
                key, _ = ApiKey.objects.get_or_create(
                    key_hash=hash_key(raw),
                    defaults={
                        "name": f"imported {key_fingerprint(raw)}",
                        "prefix": raw[: min(4, len(raw) // 4)],
                        "from_environment": True,
                        "active": raw in configured,
                    },
                )
                self.key_ids[raw] = key.id
                self.report.keys.append(
                    LegacyKey(
                        raw=raw,
                        api_key_id=key.id,
                        in_api_key=raw in configured,
                        documents=documents.get(raw, 0),
                        usage_records=usage.get(raw, 0),
                    )
                )

    # -- batches

    def import_batches(self) -> None:
        tally = self.report.tallies["batches"]
        mistral = [name for name in MISTRAL_BATCH_COLUMNS if name in self.columns["batches"]]
        rows = self.legacy.execute(
            f"SELECT {', '.join(sorted(BATCH_COLUMNS) + mistral)} FROM batches ORDER BY rowid"
        )
        for chunk in chunks(rows, lambda row: 0):
            tally.read += len(chunk)
            for row in chunk:
                self.batch_priority[row["id"]] = clamp_priority(row["priority"])
            existing = set(
                Batch.objects.filter(id__in=[row["id"] for row in chunk]).values_list(
                    "id", flat=True
                )
            )
            tally.skip("already imported", len(existing))
            new = []
            for row in chunk:
                if row["id"] in existing:
                    continue
                try:
                    new.append(self.batch_from(row, mistral))
                except (ValueError, TypeError) as exc:
                    tally.skip(f"unreadable ({exc})")
            with transaction.atomic():
                Batch.objects.bulk_create(new)
            tally.imported += len(new)

    def batch_from(self, row: sqlite3.Row, mistral: list[str]) -> Batch:
        if row["status"] not in Batch.Status.values:
            raise ValueError(f"status {row['status']!r}")
        metadata = json_object(row["metadata"])
        metadata.update(
            {_camel(name): row[name] for name in mistral if row[name] is not None}
        )  # Mistral Batch API ids, kept for whoever fetches that batch's results
        return Batch(
            id=row["id"],
            api_key_id=self.key_ids.get(row["api_key"]),
            total_documents=row["total_documents"],
            completed_documents=row["completed_documents"],
            failed_documents=row["failed_documents"],
            status=row["status"],
            priority=clamp_priority(row["priority"]),
            metadata=metadata,
            created_at=created(row["created_at"]),
            completed_at=moment(row["completed_at"]),
        )

    # -- documents, their usage and their jobs

    def import_documents(self) -> None:
        tally = self.report.tallies["documents"]
        total = self.count("SELECT count(*) FROM documents")
        self.active_jobs = dict(
            self.legacy.execute(
                "SELECT document_id, count(*) FROM job_queue WHERE type = 'convert' AND status IN "
                f"({', '.join('?' * len(ACTIVE_JOB_STATUSES))}) GROUP BY document_id",
                ACTIVE_JOB_STATUSES,
            )
        )
        batch_id = "batch_id" if "batch_id" in self.columns["documents"] else "NULL AS batch_id"
        rows = self.legacy.execute(
            f"SELECT {', '.join(sorted(REQUIRED_COLUMNS['documents']))}, {batch_id}, "
            "rowid AS legacy_row FROM documents ORDER BY rowid"
        )
        self.progress_to(0, total)
        for chunk in chunks(rows, lambda row: len(row["content"] or "")):
            tally.read += len(chunk)
            self.import_chunk(chunk)
            self.progress_to(tally.read, total)

    def import_chunk(self, chunk: list[sqlite3.Row]) -> None:
        tally = self.report.tallies["documents"]
        ids = [row["id"] for row in chunk]
        existing = set(Document.objects.filter(id__in=ids).values_list("id", flat=True))
        known_batches = set(
            Batch.objects.filter(id__in={row["batch_id"] for row in chunk}).values_list(
                "id", flat=True
            )
        )
        usage = self.usage_of(ids)
        self.report.tallies["usage"].read += sum(len(rows) for rows in usage.values())
        documents, unfinished, failed_now = [], [], []
        reopened: Counter[str] = Counter()
        for row in chunk:
            active_jobs = self.active_jobs.pop(row["id"], 0)
            if row["id"] in existing:
                tally.skip("already imported")
                self.report.tallies["usage"].skip("already imported", len(usage[row["id"]]))
                self.report.tallies["job_queue"].skip(
                    "its document was already imported", active_jobs
                )
                continue
            try:
                document, state = self.document_from(row, active_jobs, known_batches)
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                tally.skip(f"unreadable or damaged ({exc})")
                self.report.tallies["usage"].skip("its document was skipped", len(usage[row["id"]]))
                self.report.tallies["job_queue"].skip("its document was skipped", active_jobs)
                continue
            documents.append(document)
            if state == "unfinished":
                unfinished.append(document)
                if row["status"] == "failed" and document.batch_id:
                    reopened[document.batch_id] += 1  # the original counted it failed
            elif state == "failed now":
                failed_now.append(document)
            self.count_jobs(state, active_jobs)
        records = [self.usage_record(document, usage[document.id]) for document in documents]
        with transaction.atomic():
            Document.objects.bulk_create(documents)
            UsageRecord.objects.bulk_create([record for record in records if record])
            for document in unfinished:
                queue.enqueue(document)
            progress.documents_reopened(dict(reopened))
            for document in failed_now:
                if document.batch_id:
                    progress.document_finished(document.batch_id, False, document.processed_at)
        tally.imported += len(documents)

    def usage_of(self, ids: list[str]) -> dict[str, list[sqlite3.Row]]:
        found = defaultdict(list)
        rows = self.legacy.execute(
            f"SELECT * FROM usage WHERE document_id IN ({', '.join('?' * len(ids))}) "
            "ORDER BY created_at, rowid",
            ids,
        )
        for row in rows:
            found[row["document_id"]].append(row)
        return found

    def document_from(
        self, row: sqlite3.Row, active_jobs: int, known_batches: set[str]
    ) -> tuple[Document, str]:
        """The document as Ilios keeps it, and what happens next: `finished`, `unfinished`
        (queued again: Ilios finishes what the original did not) or `failed now`."""
        status = row["status"]
        if status not in ("pending", "processing", "completed", "failed", "archived"):
            raise ValueError(f"status {status!r}")
        metadata = json_object(row["metadata"])
        pages = metadata.get("extractedPages")
        batch_id = row["batch_id"] if row["batch_id"] in known_batches else None
        if row["batch_id"] and not batch_id:
            self.report.notes["documents whose batch is not in the database: imported alone"] += 1
        # A failed document with a live job was about to be retried by the original.
        unfinished = status in ("pending", "processing") or (status == "failed" and active_jobs)
        document = Document(
            id=row["id"],
            file_name=row["file_name"][:255],
            mime_type=row["mime_type"][:100],
            file_size=row["file_size"],
            sha256="",
            original="" if status == "archived" else row["s3_key"],
            content="" if status == "archived" else row["content"] or "",
            pages=pages if isinstance(pages, int) else None,
            metadata=metadata,
            status=status,
            error=row["error"] or "",
            engine="mistral",  # the original converted with Mistral OCR only
            priority=self.batch_priority.get(batch_id or "", SINGLE_DOCUMENT_PRIORITY),
            batch_id=batch_id,
            batch_position=row["legacy_row"] if batch_id else None,  # the upload order
            api_key_id=self.key_ids.get(row["api_key"]),
            retention_days=row["retention_days"],
            created_at=created(row["created_at"]),
            processed_at=moment(row["processed_at"]),
            archived_at=moment(row["archived_at"]),
        )
        document.set_expiry()
        if status == "archived":
            self.report.notes["archived documents: imported without content or original"] += 1
        if document.original.startswith(NEVER_STORED_PREFIXES):
            document.original = ""
            self.report.notes["documents whose file the original never stored (no original)"] += 1
            if unfinished:
                return self.failed_now(document, NEVER_STORED_ERROR), "failed now"
        elif document.original and self.originals and (problem := self.copy_original(document)):
            document.original = ""
            if unfinished:
                return self.failed_now(document, problem), "failed now"
            self.report.notes[f"finished documents without their original: {problem}"] += 1
        elif document.original and not self.originals:
            self.sample_referenced_original(document.original)
        if not unfinished:
            return document, "finished"
        document.status, document.error, document.processed_at = Document.Status.PENDING, "", None
        document.engine = self.engine_for_unfinished
        self.report.notes["unfinished documents queued to be converted here"] += 1
        return document, "unfinished"

    def copy_original(self, document: Document) -> str | None:
        """Copy the document's original here; None, or why it could not be."""
        assert self.originals is not None
        try:
            if self.dry_run:
                size = self.originals.size(document.original)
                if size is None:
                    return MISSING_ORIGINAL_ERROR
                if size != document.file_size:
                    raise OriginalSizeMismatch(document.original, document.file_size, size)
            elif copied := self.originals.copy(document.original, document.id, document.file_size):
                document.original, document.sha256 = copied
            else:
                return MISSING_ORIGINAL_ERROR
        except OriginalSizeMismatch as exc:
            return f"the original file in the bucket is not the one uploaded ({exc})"
        self.report.notes["originals copied and their sizes checked"] += 1
        return None

    def sample_referenced_original(self, key: str) -> None:
        """Look for the first few originals where they are referenced: a wrong S3_BUCKET shows
        in the summary rather than as 404s of every `…/original` later."""
        if self.originals_sampled >= ORIGINALS_SAMPLED:
            return
        self.originals_sampled += 1
        if not default_storage.exists(key):
            self.report.notes[
                f"of the first {ORIGINALS_SAMPLED} originals, not in S3_BUCKET "
                f"{settings.S3_BUCKET!r} (is it the original service's bucket?)"
            ] += 1

    def failed_now(self, document: Document, error: str) -> Document:
        document.status, document.error = Document.Status.FAILED, error
        document.processed_at = timezone.now()
        self.report.notes[f"unfinished documents failed at import: {error}"] += 1
        return document

    def count_jobs(self, state: str, active_jobs: int) -> None:
        tally = self.report.tallies["job_queue"]
        if state == "unfinished" and active_jobs:
            tally.imported += 1
            tally.skip("another live job of the same document", active_jobs - 1)
        elif state == "failed now":
            tally.skip("its document failed at import", active_jobs)
        else:
            tally.skip("its document is finished", active_jobs)

    def usage_record(self, document: Document, rows: list[sqlite3.Row]) -> UsageRecord | None:
        """One record per document, as Ilios bills: a document the original billed more than
        once (it reran jobs it thought orphaned) gets one record with every amount added up."""
        if not rows:
            return None
        self.report.tallies["usage"].imported += len(rows)
        if len(rows) > 1:
            self.report.notes["usage rows merged: the original billed a document twice"] += len(
                rows
            )
        first = rows[0]
        return UsageRecord(
            document_id=document.id,
            api_key_id=self.key_ids.get(first["api_key"]),
            operation=OPERATIONS.get(first["operation"], first["operation"][:32]),
            engine="mistral",
            pages=document.pages or 0,
            input_tokens=sum(row["input_tokens"] for row in rows),
            output_tokens=sum(row["output_tokens"] for row in rows),
            base_cost_micros=sum(row["base_cost_cents"] for row in rows) * MICROS_PER_CENT,
            margin_rate=Decimal(first["margin_rate"]) / 100,
            total_cost_micros=sum(row["total_cost_cents"] for row in rows) * MICROS_PER_CENT,
            created_at=created(first["created_at"]),
        )

    def count_leftovers(self) -> None:
        """Rows no document led to: finished jobs, other job types, rows of missing documents."""
        jobs = self.report.tallies["job_queue"]
        jobs.read = self.count("SELECT count(*) FROM job_queue")
        for status, count in self.legacy.execute(
            "SELECT status, count(*) FROM job_queue WHERE status NOT IN "
            f"({', '.join('?' * len(ACTIVE_JOB_STATUSES))}) GROUP BY status",
            ACTIVE_JOB_STATUSES,
        ):
            jobs.skip(f"finished ({status}): its document's status tells the outcome", count)
        for job_type, count in self.legacy.execute(
            "SELECT type, count(*) FROM job_queue WHERE type != 'convert' AND status IN "
            f"({', '.join('?' * len(ACTIVE_JOB_STATUSES))}) GROUP BY type",
            ACTIVE_JOB_STATUSES,
        ):
            jobs.skip(f"not a conversion ({job_type})", count)
        jobs.skip("its document is not in the database", sum(self.active_jobs.values()))
        usage = self.report.tallies["usage"]
        orphans = self.count(
            "SELECT count(*) FROM usage WHERE document_id NOT IN (SELECT id FROM documents)"
        )
        usage.read += orphans
        usage.skip("its document is not in the database", orphans)
        if self.columns.get("workers"):
            workers = self.report.tallies["workers"]
            workers.read = self.count("SELECT count(*) FROM workers")
            workers.skip(
                "the original's processes: Ilios's workers register themselves", workers.read
            )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def import_database(
    path: Path,
    *,
    dry_run: bool = False,
    originals: OriginalsSource | None = None,
    progress_to: Callable[[int, int], None] = lambda done, total: None,
) -> Report:
    """Import the original service's database at `path`; see the module's docstring.

    Without `originals`, each document's original is its `s3_key` in the configured bucket,
    where the original service put it. A dry run does everything in a transaction it rolls back
    (and copies nothing), so its report says exactly what a real run would do.
    """
    with open_legacy(path) as legacy:
        columns = check_schema(legacy, path)
        columns["workers"] = columns_of(legacy, "workers")
        has_documents = legacy.execute("SELECT 1 FROM documents LIMIT 1").fetchone()
        if originals is None and not settings.S3_BUCKET and has_documents:
            raise LegacyDatabaseError(
                "the original service's files are in its S3 bucket, but Ilios stores files "
                "locally: set S3_BUCKET (and AWS_*) to that bucket to use them where they are, "
                "or pass --copy-originals to copy them here"
            )
        importer = Importer(legacy, columns, originals, dry_run, progress_to)
        if not dry_run:
            return importer.run()
        with transaction.atomic():
            report = importer.run()
            transaction.set_rollback(True)
        return report
