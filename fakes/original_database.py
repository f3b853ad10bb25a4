"""A database written the way the original service writes it, for the import's tests and benchmark.

The original (`tobalo/ilios` at 067be4a, Apache-2.0) creates its tables by running its migration
SQL split at `--> statement-breakpoint` (`autoMigrate` in `src/services/database.ts`), which is
vendored in tests/fixtures/. Each method below does what the `DatabaseService` method of the same
name does there, with the same columns, defaults, unix-second timestamps, JSON text and money
arithmetic (`calculateCost` in `src/services/mistral.ts`, `trackUsage`, `getUsageSummary`).
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
import string
import time
from pathlib import Path

SCHEMA = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "original-schema-0000_free_shooting_star.sql"
)
_CUID_TAIL = string.ascii_lowercase + string.digits


def create_id() -> str:
    """The shape of @paralleldrive/cuid2's createId(): 24 characters, a letter first."""
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_CUID_TAIL) for _ in range(23)
    )


class OriginalDatabase:
    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA journal_mode = WAL")
        if not self.connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='documents'"
        ).fetchone():
            statements = "".join(SCHEMA.read_text().split("--> statement-breakpoint")).split(";")
            for statement in statements:
                if statement.strip():
                    self.connection.execute(statement)

    def close(self) -> None:
        self.connection.close()

    def now(self) -> int:
        return int(time.time())

    def create_document(
        self,
        file_name: str,
        file_size: int,
        *,
        mime_type: str = "application/pdf",
        s3_key: str | None = None,
        api_key: str | None = None,
        retention_days: int | None = None,
        batch_id: str | None = None,
        created_at: int | None = None,
    ) -> str:
        document_id = create_id()
        extension = file_name.rsplit(".", 1)[-1]
        self.connection.execute(
            "INSERT INTO documents (id, file_name, mime_type, file_size, s3_key, api_key, "
            "retention_days, batch_id, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                document_id,
                file_name,
                mime_type,
                file_size,
                s3_key or f"documents/{int(time.time() * 1000)}-{create_id()}.{extension}",
                api_key,
                retention_days or 365,
                batch_id,
                created_at or self.now(),
            ),
        )
        return document_id

    def create_job(self, document_id: str, priority: int = 1, job_type: str = "convert") -> str:
        job_id = create_id()
        self.connection.execute(
            "INSERT INTO job_queue (id, document_id, type, status, priority) "
            "VALUES (?, ?, ?, 'pending', ?)",
            (job_id, document_id, job_type, priority),
        )
        return job_id

    def claim_next_job(self, worker_id: str = "worker-0") -> sqlite3.Row | None:
        """claimNextJob, then the worker's `UPDATE document SET status='processing'`."""
        job = self.connection.execute(
            "SELECT * FROM job_queue WHERE status = 'pending' AND scheduled_at <= unixepoch() "
            "ORDER BY priority DESC, scheduled_at LIMIT 1"
        ).fetchone()
        if job is None:
            return None
        self.connection.execute(
            "UPDATE job_queue SET status = 'processing', worker_id = ?, started_at = ?, "
            "attempts = ? WHERE id = ? AND status = 'pending'",
            (worker_id, self.now(), job["attempts"] + 1, job["id"]),
        )
        self.update_document_status(job["document_id"], "processing")
        return job

    def update_document_status(
        self, document_id: str, status: str, *, content=None, metadata=None, error=None
    ) -> None:
        self.connection.execute(
            "UPDATE documents SET status = ?, content = coalesce(?, content), "
            "metadata = coalesce(?, metadata), error = coalesce(?, error), "
            "processed_at = CASE WHEN ? = 'completed' THEN ? ELSE processed_at END WHERE id = ?",
            (
                status,
                content,
                None if metadata is None else json.dumps(metadata),
                error,
                status,
                self.now(),
                document_id,
            ),
        )

    def update_job_and_document_status(
        self, job_id: str, document_id: str, status: str, *, content=None, metadata=None, error=None
    ) -> None:
        self.connection.execute(
            "UPDATE job_queue SET status = ?, completed_at = ?, error = ? WHERE id = ?",
            (status, self.now(), error, job_id),
        )
        self.update_document_status(
            document_id, status, content=content, metadata=metadata, error=error
        )

    def track_usage(
        self,
        document_id: str,
        *,
        api_key: str | None,
        operation: str,
        input_tokens: int,
        output_tokens: int = 0,
        margin_rate: int | None = None,
        created_at: int | None = None,
    ) -> None:
        """calculateCost, then trackUsage: JavaScript doubles, so Python floats match them."""
        pages = math.ceil((input_tokens + output_tokens) / 1000)
        base_cost_cents = math.ceil(pages * 0.01 * 100)
        total_cost_cents = math.ceil(base_cost_cents * (1 + (margin_rate or 30) / 100))
        self.connection.execute(
            "INSERT INTO usage (id, document_id, api_key, operation, input_tokens, output_tokens, "
            "base_cost_cents, margin_rate, total_cost_cents, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                create_id(),
                document_id,
                api_key,
                operation,
                input_tokens,
                output_tokens,
                base_cost_cents,
                margin_rate or 30,
                total_cost_cents,
                created_at or self.now(),
            ),
        )

    def convert(self, document_id: str, markdown: str, pages: int, api_key: str | None) -> None:
        """What the original's worker does with a successful OCR (job-worker-thread.ts)."""
        job = self.claim_next_job()
        assert job is not None and job["document_id"] == document_id
        self.update_job_and_document_status(
            job["id"],
            document_id,
            "completed",
            content=markdown,
            metadata={
                "model": "mistral-ocr-latest",
                "temperature": 0.1,
                "extractedPages": pages,
                "processingTimeMs": 1234,
                "fileSize": 1,
                "largeFileProcessing": False,
            },
        )
        self.track_usage(
            document_id,
            api_key=api_key,
            operation="convert",
            input_tokens=math.ceil(len(markdown) / 4),
        )

    def create_batch(self, total: int, *, api_key: str | None = None, priority: int = 5) -> str:
        batch_id = create_id()
        self.connection.execute(
            "INSERT INTO batches (id, api_key, total_documents, priority, status) "
            "VALUES (?, ?, ?, ?, 'pending')",
            (batch_id, api_key, total, priority),
        )
        return batch_id

    def update_batch_progress(self, batch_id: str) -> None:
        counts = dict(
            self.connection.execute(
                "SELECT status, count(*) FROM documents WHERE batch_id = ? GROUP BY status",
                (batch_id,),
            ).fetchall()
        )
        completed, failed = counts.get("completed", 0), counts.get("failed", 0)
        total = sum(counts.values())
        all_done = completed + failed == total
        status = (
            ("failed" if failed == total else "completed")
            if all_done
            else ("processing" if completed or failed else "pending")
        )
        self.connection.execute(
            "UPDATE batches SET completed_documents = ?, failed_documents = ?, status = ?, "
            "completed_at = CASE WHEN ? THEN ? ELSE completed_at END WHERE id = ?",
            (completed, failed, status, all_done, self.now(), batch_id),
        )

    def usage_summary(self, api_key: str | None = None) -> dict:
        """`GET /api/usage/summary`'s `summary` for a key over all time (getUsageSummary)."""
        where, params = ("WHERE api_key = ?", (api_key,)) if api_key else ("", ())
        row = self.connection.execute(
            "SELECT count(distinct document_id), count(*), sum(input_tokens), "
            f"sum(output_tokens), sum(total_cost_cents) FROM usage {where}",
            params,
        ).fetchone()
        return {
            "totalDocuments": row[0] or 0,
            "totalOperations": row[1] or 0,
            "totalInputTokens": row[2] or 0,
            "totalOutputTokens": row[3] or 0,
            "totalCostCents": row[4] or 0,
        }
