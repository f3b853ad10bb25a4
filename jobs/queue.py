"""The job queue: every state change a job goes through, in one place.

A job is claimed, then completed, failed, retried or given back, always by conditional updates
checked by their row counts, so two workers can never both own a job and a worker that lost its
job (to orphan recovery or shutdown) cannot record a result for it. Effects of a completion commit
in the same transaction as the job's status change: a crash before the commit leaves nothing
behind, a crash after it leaves everything, and the usage record is written exactly once.
A worker records the jobs that finished meanwhile together (`complete_many`, one transaction),
still each only if it still holds it.

Claims are `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite every transaction is
`BEGIN IMMEDIATE` (see settings), which serialises claims on the database's write lock. What
else differs between the two databases is in `jobs.db`; what a job's end writes besides the job
(the document, its bill, its batch, the webhooks announcing them) is in `jobs.outcomes`.

Three types of job share the table: conversions, webhook deliveries (`jobs.webhooks`) and
batches sent to Mistral's Batch API (`jobs.mistral_batches`). A worker claims each type for seats
of its own, so none can hold up another. A job that waits on someone else (a Mistral batch job)
does not wait in a thread: it goes back to the queue, due again later (`check_back_later`).
A long PDF's conversion is a waiting job and page-range parts, which the queue runs as it
runs any conversion; what their end writes is in `jobs.fanout`.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from batches import progress
from documents.engines.base import ConversionResult
from documents.models import Document
from jobs import db, fanout, outcomes
from jobs.models import Job, Worker
from jobs.payload import without_secrets
from jobs.webhooks import Attempt, Result
from usage.billing import Operation

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5
IDLE_POLL_SECONDS = 1.0


# --- Submitting -------------------------------------------------------------------------------


def enqueue(
    document: Document, payload: dict | None = None, parts: list[tuple[int, ...]] | None = None
) -> Job:
    """Create the convert job for a freshly stored document; workers are woken on commit.

    `payload` carries the request's options (`jobs.payload`); `parts`, the pages of each part
    when the document fans out (`documents.conversion.page_parts`), and then the job returned
    is their waiting parent (`jobs.fanout`).
    """
    if parts and len(parts) > 1:
        db.notify_on_commit()
        return fanout.enqueue(document, payload or {}, parts, timezone.now())
    job = Job.objects.create(
        document=document,
        type=Job.Type.CONVERT,
        priority=document.priority,
        max_attempts=settings.JOB_MAX_ATTEMPTS,
        payload=payload or {},
        scheduled_at=timezone.now(),
    )
    db.notify_on_commit()
    return job


def enqueue_mistral_batch(batch_id: str, priority: int, payload: dict) -> Job:
    """Create the one job that converts a whole batch through Mistral's Batch API.

    Its documents get no convert jobs: this job sends them all in one Mistral batch job and
    records each one's outcome when that ends (`jobs.mistral_batches`).
    """
    job = Job.objects.create(
        type=Job.Type.MISTRAL_BATCH,
        priority=priority,
        max_attempts=settings.JOB_MAX_ATTEMPTS,
        payload={**payload, "batch": batch_id},
        scheduled_at=timezone.now(),
    )
    db.notify_on_commit()
    return job


def cancel_pending(document_ids) -> int:
    """Cancel the pending jobs of these documents, and fanned-out ones whose parts have not all
    converted; returns how many documents were cancelled.

    A job a worker already claimed is left alone: cancelling it would race the worker's result
    (a fanned-out document's running parts are dropped instead, `jobs.fanout`). The rows are
    locked first so that a claim cannot take one between the read and the update. A pending
    document with no job of its own waits for its batch's Mistral job to send it
    (`jobs.mistral_batches`). It is cancelled too: left out of the upload, or, caught in the
    middle of it, its result is dropped when the batch ends. Once Mistral's job is started, its
    documents are processing and finish with it.
    """
    with transaction.atomic():
        now = timezone.now()
        fanned_out = fanout.cancel(document_ids, now)
        pending = Job.objects.select_for_update().filter(
            document_id__in=document_ids, status=Job.Status.PENDING, parent=None
        )
        cancelled_ids = list(pending.values_list("document_id", flat=True))
        cancelled_ids += Document.objects.filter(
            id__in=document_ids, status=Document.Status.PENDING, jobs=None
        ).values_list("id", flat=True)
        Job.objects.filter(
            document_id__in=cancelled_ids, status=Job.Status.PENDING, parent=None
        ).update(status=Job.Status.CANCELLED, completed_at=now, payload={})
        return outcomes.cancelled(cancelled_ids + fanned_out, now)


# --- Claiming ---------------------------------------------------------------------------------


def claim(worker_id: int, limit: int, job_type: str = Job.Type.CONVERT) -> list[Job]:
    """Atomically take up to `limit` ready jobs of a type: highest priority first, then oldest.

    Four statements whatever `limit` is: make sure the worker is still active, read the jobs
    (with their documents), mark them taken, mark their documents processing; one more when
    an engine converts one part per process (which documents this worker already converts a
    part of, `fanout.spread`), and one when some belong to batches, which are processing from
    then on. A worker asks for as many as it has free seats.

    A worker that others declared dead claims nothing: cut off from the database for longer
    than WORKER_DEAD_AFTER, it may claim again as its link comes back, before its next
    heartbeat tells it to stop; the jobs it took would be taken back from it and converted
    (and paid for) twice.
    """
    now = timezone.now()
    with transaction.atomic():
        db.commit_without_waiting_for_disk()
        if not _active(worker_id):
            return []
        ready = (
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("document")
            .filter(status=Job.Status.PENDING, type=job_type, scheduled_at__lte=now)
        )
        if job_type == Job.Type.CONVERT:
            ready = fanout.spread(ready, worker_id)
        jobs = fanout.one_part_each(list(ready.order_by("-priority", "scheduled_at", "id")[:limit]))
        if not jobs:
            return []
        Job.objects.filter(id__in=[job.id for job in jobs]).update(
            status=Job.Status.PROCESSING,
            worker_id=worker_id,
            started_at=now,
            attempts=F("attempts") + 1,
        )
        Document.objects.filter(id__in=[job.document_id for job in jobs]).update(
            status=Document.Status.PROCESSING
        )
        batch_ids = {
            job.document.batch_id for job in jobs if job.document and job.document.batch_id
        }
        if batch_ids and job_type == Job.Type.CONVERT:
            progress.documents_claimed(batch_ids)
    for job in jobs:  # what the UPDATEs just wrote
        job.status, job.worker_id, job.started_at = Job.Status.PROCESSING, worker_id, now
        job.attempts += 1
        if job.document:
            job.document.status = Document.Status.PROCESSING
    return jobs


def _active(worker_id: int) -> bool:
    """Whether the worker is still active: a plain query, run on every claim (built by the ORM,
    it cost more than its answer is worth, many times a second)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {connection.ops.quote_name(Worker._meta.db_table)}"
            " WHERE id = %s AND status = %s",
            [worker_id, Worker.Status.ACTIVE],
        )
        return cursor.fetchone() is not None


def _held(job: Job, worker_id: int | None):
    """The job's row, only while this worker still holds this attempt of it.

    Orphan recovery or a shutdown may have taken the job back and another worker may hold it
    now; the attempt count fences off a worker that claimed the same job twice. Orphan recovery
    also fails jobs whose worker row is gone (None).
    """
    held = Job.objects.filter(id=job.id, status=Job.Status.PROCESSING, attempts=job.attempts)
    if worker_id is None:
        return held.filter(worker__isnull=True)
    return held.filter(worker_id=worker_id)


def document_of(job: Job) -> Document:
    """A convert job's document, which is always there: deleting a document deletes its jobs."""
    assert job.document is not None, f"job {job.id} has no document"
    return job.document


def _still_held(jobs: list[Job], worker_id: int) -> set[int]:
    """`_held` for many jobs at once: the ids of those this worker still holds, rows locked.

    Call inside the transaction that records their outcome: the lock (PostgreSQL) or the write
    lock taken at BEGIN (SQLite) keeps anyone else from taking them back before it commits.
    """
    attempts = {job.id: job.attempts for job in jobs}
    rows = (
        Job.objects.select_for_update()
        .filter(id__in=attempts, status=Job.Status.PROCESSING, worker_id=worker_id)
        .values_list("id", "attempts")
    )
    return {job_id for job_id, attempt in rows if attempts[job_id] == attempt}


# --- Finishing --------------------------------------------------------------------------------


def complete(job: Job, worker_id: int, result: ConversionResult) -> bool:
    """Record a successful conversion. False when the worker no longer held the job."""
    return bool(complete_many(worker_id, [(job, result)]))


def complete_many(worker_id: int, finished: list[tuple[Job, ConversionResult]]) -> list[Job]:
    """Record several successful conversions in one transaction (a group commit).

    Only the jobs this worker still holds are recorded, each exactly once; returns them. The
    others were taken back (orphan recovery, shutdown) and their results are dropped.
    """
    with transaction.atomic():
        db.commit_without_waiting_for_disk()
        now = timezone.now()
        held = _still_held([job for job, _ in finished], worker_id)
        done = [(job, result) for job, result in finished if job.id in held]
        if not done:
            return []
        db.update_each(
            Job,
            [
                Job(
                    id=job.id,
                    status=Job.Status.COMPLETED,
                    completed_at=now,
                    result=fanout.part_result(result)
                    if job.parent_id
                    else outcomes.summary(result),
                    error="",
                    payload=without_secrets(job.payload),
                )
                for job, result in done
            ],
            ["status", "completed_at", "result", "error", "payload"],
        )
        outcomes.converted(
            [(document_of(job), result) for job, result in done if not job.parent_id], now
        )
        fanout.converted([(job, result) for job, result in done if job.parent_id], now)
    return [job for job, _ in done]


def fail(
    job: Job,
    worker_id: int | None,
    error: str,
    *,
    retryable: bool,
    retry_after: float | None = None,
) -> Job.Status | None:
    """Record a failed attempt: retried later, or failed for good.

    A retryable failure is retried while attempts remain (JOB_MAX_ATTEMPTS, three by default),
    after 5 s, then 10 s, doubling with each attempt, or later if the engine sent Retry-After.
    A part whose document no longer waits for it is cancelled instead (`jobs.fanout`). Returns
    the job's new status, or None when the worker no longer held the job.
    """
    with transaction.atomic():
        now = timezone.now()
        if job.parent_id and fanout.abandoned(job):
            held = _held(job, worker_id).update(
                status=Job.Status.CANCELLED,
                completed_at=now,
                error=error,
                payload=without_secrets(job.payload),
            )
            return Job.Status.CANCELLED if held else None
        if retryable and job.attempts < job.max_attempts:
            delay = max(BACKOFF_BASE_SECONDS * 2 ** (job.attempts - 1), retry_after or 0)
            held = _held(job, worker_id).update(
                status=Job.Status.PENDING,
                worker=None,
                scheduled_at=now + timedelta(seconds=delay),
                error=error,
            )
            if held and not job.parent_id:  # a document with parts converting stays processing
                Document.objects.filter(id=job.document_id).update(status=Document.Status.PENDING)
            return Job.Status.PENDING if held else None
        held = _held(job, worker_id).update(
            status=Job.Status.FAILED,
            completed_at=now,
            error=error,
            payload=without_secrets(job.payload),
        )
        if not held:
            return None
        if job.parent_id:
            fanout.failed(job, error, now)
        elif job.type == Job.Type.CONVERT:
            outcomes.failed(document_of(job), error, now)
        elif job.type == Job.Type.MISTRAL_BATCH:
            outcomes.failed_many(open_documents_of(job), {}, error, now)
        return Job.Status.FAILED


def release(job: Job, worker_id: int) -> bool:
    """Give an unfinished job back on shutdown, without spending the attempt it used."""
    with transaction.atomic():
        held = _held(job, worker_id).update(
            status=Job.Status.PENDING,
            worker=None,
            started_at=None,
            attempts=F("attempts") - 1,
        )
        if held and not job.parent_id:
            Document.objects.filter(id=job.document_id).update(status=Document.Status.PENDING)
            db.notify_on_commit()
    return bool(held)


def retry_now(job_ids) -> int:
    """Give failed jobs a fresh set of attempts (the operator's "retry").

    Not a part of a fanned-out document, which failed with it: its document's own job is
    retried, and then converts in one piece.
    """
    with transaction.atomic():
        jobs = Job.objects.filter(id__in=job_ids, status=Job.Status.FAILED, parent=None)
        document_ids = list(jobs.values_list("document_id", flat=True))
        count = jobs.update(
            status=Job.Status.PENDING,
            attempts=0,
            scheduled_at=timezone.now(),
            worker=None,
            started_at=None,
            completed_at=None,
            error="",
        )
        outcomes.reopened(document_ids)
        db.notify_on_commit()
    return count


# --- Jobs that wait on someone else (Mistral batches) -------------------------------------------


def save_progress(job: Job, worker_id: int, payload: dict) -> bool:
    """Record what the job learnt (the id of something it created elsewhere) in its payload, at
    once and only while this worker still holds it: a crash after this keeps it, so the next
    attempt goes on from there instead of creating it again."""
    with transaction.atomic():
        held = _held(job, worker_id).update(payload=payload)
    if held:
        job.payload = payload
    return bool(held)


def check_back_later(
    job: Job,
    worker_id: int,
    payload: dict,
    delay: float,
    *,
    documents_sent: bool = False,
    error: str = "",
) -> Job.Status | None:
    """Put a job that waits on someone else back in the queue, due again after `delay`, with
    what it learnt in its payload. No thread sleeps on its behalf and no seat is held.

    The attempt its look used is given back, so waiting (for hours, if need be) never uses up
    attempts; only failures do. With `documents_sent`, its batch's pending documents become
    processing, and so does the batch: they are at Mistral now, so cancelling the batch no
    longer cancels them.
    `error` says why the last look failed, if it did.
    """
    with transaction.atomic():
        held = _held(job, worker_id).update(
            status=Job.Status.PENDING,
            worker=None,
            started_at=None,
            attempts=F("attempts") - 1,
            scheduled_at=timezone.now() + timedelta(seconds=delay),
            payload=payload,
            error=error,
        )
        if held and documents_sent:
            open_documents_of(job).filter(status=Document.Status.PENDING).update(
                status=Document.Status.PROCESSING
            )
            progress.documents_claimed([job.payload["batch"]])
    return Job.Status.PENDING if held else None


def finish_mistral_batch(
    job: Job,
    worker_id: int,
    results: dict[str, ConversionResult | str],
    reason: str,
    *,
    succeeded: bool,
) -> Job.Status | None:
    """Record an ended Mistral batch job: each of its documents' Markdown, billed at the batch
    price, or its failure (Mistral's reason for it, else `reason`), all in one transaction.

    Only documents still open are written: one cancelled meanwhile stays cancelled. The job
    completes when Mistral's job succeeded and fails (with `reason`) when it did not. Returns
    the job's new status, or None when the worker no longer held the job.
    """
    with transaction.atomic():
        if not _still_held([job], worker_id):
            return None
        now = timezone.now()
        documents = list(open_documents_of(job).order_by("id"))
        converted = [
            (document, result)
            for document in documents
            if isinstance(result := results.get(document.id), ConversionResult)
        ]
        converted_ids = {document.id for document, _ in converted}
        status = Job.Status.COMPLETED if succeeded else Job.Status.FAILED
        Job.objects.filter(id=job.id).update(
            status=status,
            completed_at=now,
            result={
                "mistralJobId": job.payload.get("mistralJobId"),
                "converted": len(converted),
                "failed": len(documents) - len(converted),
            },
            error="" if succeeded else reason,
            payload=without_secrets(job.payload),
        )
        outcomes.converted(converted, now, Operation.MISTRAL_BATCH)
        outcomes.failed_many(
            [document for document in documents if document.id not in converted_ids],
            results,
            reason,
            now,
        )
    return status


def open_documents_of(job: Job):
    """The documents of a Mistral batch job's batch that have no outcome yet."""
    return Document.objects.filter(
        batch_id=job.payload["batch"],
        status__in=(Document.Status.PENDING, Document.Status.PROCESSING),
    )


# --- Webhook deliveries ------------------------------------------------------------------------


def record_delivery(job: Job, worker_id: int, attempt: Attempt) -> Job.Status | None:
    """Record one attempt at a webhook delivery: delivered, retried later or given up.

    Retries take the queue's doubling backoff (`fail`) over the delivery's attempts (about a
    day), or the receiver's Retry-After when longer. Returns the job's new status, or None when
    the worker no longer held the job.
    """
    with transaction.atomic():
        status: Job.Status | None
        if attempt.result == Result.DELIVERED:
            held = _held(job, worker_id).update(
                status=Job.Status.COMPLETED, completed_at=timezone.now(), error=""
            )
            status = Job.Status.COMPLETED if held else None
        else:
            status = fail(
                job,
                worker_id,
                attempt.error,
                retryable=attempt.result == Result.RETRYABLE,
                retry_after=attempt.retry_after,
            )
        if status:
            outcomes.delivery_attempted(job, attempt.status_code)
    return status


def bring_forward(job_ids) -> int:
    """Make pending jobs due now (the operator's "retry now" of a delivery backing off)."""
    with transaction.atomic():
        count = Job.objects.filter(id__in=job_ids, status=Job.Status.PENDING).update(
            scheduled_at=timezone.now()
        )
        db.notify_on_commit()
    return count


# --- Workers, heartbeats and orphans ------------------------------------------------------------


def register_worker(concurrency: int) -> Worker:
    return Worker.objects.create(
        hostname=socket.gethostname(), pid=os.getpid(), concurrency=concurrency
    )


@dataclass
class Counters:
    completed: int = 0
    failed: int = 0


def heartbeat(worker_id: int, counters: Counters) -> bool:
    """Say this worker is alive; False when others already declared it dead."""
    return bool(
        Worker.objects.filter(
            id=worker_id, status__in=[Worker.Status.ACTIVE, Worker.Status.STOPPING]
        ).update(
            last_heartbeat=timezone.now(),
            jobs_completed=counters.completed,
            jobs_failed=counters.failed,
        )
    )


def mark_worker(worker_id: int, status: str, counters: Counters | None = None) -> None:
    """Say this worker is stopping or stopped, unless others already declared it dead: a dead
    worker's jobs were taken back, and it must not look alive (or cleanly stopped) again."""
    fields = {"status": status, "last_heartbeat": timezone.now()}
    if status == Worker.Status.STOPPED:
        fields["stopped_at"] = timezone.now()
    if counters:
        fields.update(jobs_completed=counters.completed, jobs_failed=counters.failed)
    Worker.objects.filter(
        id=worker_id, status__in=[Worker.Status.ACTIVE, Worker.Status.STOPPING]
    ).update(**fields)


def recover_orphans() -> int:
    """Fail the current attempt of jobs whose worker died or that ran past JOB_TIMEOUT.

    Each counts as a failed attempt, so a document that kills its worker every time still ends
    as failed after max_attempts instead of looping forever.
    """
    now = timezone.now()
    Worker.objects.filter(
        status__in=[Worker.Status.ACTIVE, Worker.Status.STOPPING],
        last_heartbeat__lt=now - timedelta(seconds=settings.WORKER_DEAD_AFTER),
    ).update(status=Worker.Status.DEAD)
    orphans = (
        Job.objects.filter(status=Job.Status.PROCESSING)
        .filter(
            Q(worker__isnull=True)
            | Q(worker__status__in=[Worker.Status.DEAD, Worker.Status.STOPPED])
            | Q(started_at__lt=now - timedelta(seconds=settings.JOB_TIMEOUT))
        )
        .select_related("document", "worker")
    )
    recovered = 0
    for job in orphans:
        timed_out = job.started_at and job.started_at < now - timedelta(
            seconds=settings.JOB_TIMEOUT
        )
        reason = (
            f"timed out after {settings.JOB_TIMEOUT:g} s"
            if timed_out
            else "its worker stopped responding"
        )
        if fail(job, job.worker_id, f"attempt {job.attempts} lost: {reason}", retryable=True):
            recovered += 1
            logger.warning("recovered orphaned job %s (%s)", job.id, reason)
    return recovered


def refresh_statistics() -> None:
    """Keep the query planner on the claim index: refresh the jobs table's statistics.

    Without fresh statistics both databases guess that few jobs are pending, read every pending
    job and sort them on each claim: a deep queue (a large batch, a backlog after an outage)
    then drains quadratically. With them, a claim walks the claim index in order and stops
    after `limit` rows. Run at worker start and with the periodic maintenance; PostgreSQL's
    autovacuum also analyzes, but only a minute or more after a burst.
    """
    db.analyze(Job)


# --- Waking idle workers ----------------------------------------------------------------------


def listen_for_work() -> None:
    """Subscribe this process to submissions' wake-ups (a no-op where no subscription is needed)."""
    db.listen()


def wake_token() -> int:
    """Taken before a claim, so a submission between the claim and the wait still wakes us."""
    return db.wake_token()


def wait_for_work(token: int, timeout: float = IDLE_POLL_SECONDS) -> None:
    """Block until a submission wakes us or `timeout` passes (so retries come due on time)."""
    db.wait_for_notification(token, timeout)
