"""Batches converted through Mistral's Batch API (`useMistralBatch=true` on batch submit).

One queue job (Job.Type.MISTRAL_BATCH) carries the whole batch through four steps, each one
claim of the job, and keeps what it learnt in its payload:

1. write every open document's OCR request into a JSON Lines file and upload it
   (`inputFileId`, `uploadedAt`, recorded at once);
2. start the Mistral batch job reading that file (`mistralJobId`, recorded together with the
   job's return to the queue);
3. look at that job every MISTRAL_BATCH_POLL_INTERVAL seconds: while it runs, the queue job goes
   back to the queue, due again then (`queue.check_back_later`), so no thread sleeps and no seat
   is held for the hours a batch job may take;
4. when it ends, read its output and error files and record every document at once
   (`queue.finish_mistral_batch`): its Markdown, billed at the batch price, or its failure with
   Mistral's reason; a document with no line in either file fails with the job's own reason.

What a worker crash leaves behind, step by step: before (1) is recorded, an uploaded input file
that no job reads (storage at Mistral, not a charge; the next attempt uploads again). Between
Mistral creating the batch job in (2) and its id being recorded, a job nobody knows the id of:
the next attempt asks Mistral for the batch jobs created since the upload and adopts the one
reading our input file (`MistralEngine.start_batch`), so no second batch job is ever paid for;
the cost is one list call per start. During (3) or (4), nothing: the id is recorded, the orphaned
queue job is retried, and it looks at the same Mistral job again; (4) writes everything in one
transaction or nothing.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from documents import storage
from documents.engines import get_engine
from documents.engines.base import ConversionError, EngineUnavailable
from documents.engines.mistral import MistralEngine
from jobs import payload as job_payload
from jobs import queue
from jobs.models import Job

logger = logging.getLogger(__name__)


def advance(job: Job, worker_id: int) -> Job.Status | None:
    """Take the job one step further and record where it got; returns its new status, or
    None when the worker no longer held it.

    Before Mistral's batch job exists, failures are the queue's retries (Mistral unreachable,
    storage down) or final (the API key refused). Once it exists, Mistral converts and bills
    the documents whatever happens here, so Mistral being unreachable never fails them: the job
    looks again later, the error on its row for the operator, until Mistral's job ends (Mistral
    ends it within a day).
    """
    try:
        return _step(job, worker_id)
    except EngineUnavailable as exc:
        if "mistralJobId" in job.payload:
            delay = max(settings.MISTRAL_BATCH_POLL_INTERVAL, exc.retry_after or 0)
            return queue.check_back_later(job, worker_id, job.payload, delay, error=str(exc))
        return queue.fail(job, worker_id, str(exc), retryable=True, retry_after=exc.retry_after)
    except ConversionError as exc:
        return queue.fail(job, worker_id, str(exc), retryable=False)
    except storage.StorageError as exc:
        return queue.fail(job, worker_id, str(exc.detail), retryable=True)


def _step(job: Job, worker_id: int) -> Job.Status | None:
    engine = get_engine("mistral")
    assert isinstance(engine, MistralEngine), "the mistral engine is not MistralEngine"
    payload = dict(job.payload)
    interval = settings.MISTRAL_BATCH_POLL_INTERVAL
    if "mistralJobId" not in payload:
        if "inputFileId" not in payload:
            payload["uploadedAt"] = timezone.now().isoformat()
            input_file, payload["refused"] = _upload_input(engine, job)
            if input_file is None:  # cancelled or refused, every one: nothing to pay for
                return queue.finish_mistral_batch(
                    job,
                    worker_id,
                    payload["refused"],
                    "no document of the batch could be sent to Mistral",
                    succeeded=not payload["refused"],
                )
            payload["inputFileId"] = input_file
            if not queue.save_progress(job, worker_id, payload):
                return None
        payload["mistralJobId"] = engine.start_batch(
            payload["inputFileId"],
            payload["model"],
            {"iliosBatch": payload["batch"]},
            datetime.fromisoformat(payload["uploadedAt"]),
        )
        logger.info("batch %s: Mistral batch job %s", payload["batch"], payload["mistralJobId"])
        return queue.check_back_later(job, worker_id, payload, interval, documents_sent=True)
    state = engine.batch_job(payload["mistralJobId"])
    if state.running:
        return queue.check_back_later(job, worker_id, payload, interval)
    results = {**payload.get("refused", {}), **engine.batch_results(state)}
    return queue.finish_mistral_batch(
        job, worker_id, results, state.reason, succeeded=state.status == "SUCCESS"
    )


def _upload_input(engine: MistralEngine, job: Job) -> tuple[str | None, dict[str, str]]:
    """Upload one OCR request per open document; returns the file's id (None when no document
    was left to send) and the documents refused on the way ({id: reason}), which fail when the
    batch ends.

    The file is unnamed (O_TMPFILE) and so vanishes with the process, even on SIGKILL: it holds
    decrypted copies of password-protected PDFs.
    """
    options = job_payload.options(job.payload)
    refused: dict[str, str] = {}
    with tempfile.TemporaryFile(dir=settings.UPLOAD_TEMP_DIR) as lines:
        for document in queue.open_documents_of(job).order_by("id"):
            with storage.local_copy(document.original) as path:
                try:
                    engine.write_batch_line(lines, document.id, path, document.mime_type, options)
                except ConversionError as exc:
                    refused[document.id] = str(exc)
        if not lines.tell():
            return None, refused
        lines.seek(0)
        return engine.upload_batch_input(lines), refused
