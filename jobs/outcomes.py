"""What a job's end writes besides the job: the document, its usage record, its batch, and the
webhook deliveries that announce them (`jobs.webhooks`).

Every function here runs inside the transaction that changes the job's status (the caller holds
it), so the document, the bill and the batch's counters change with the job or not at all: a
crash before the commit leaves nothing behind, a crash after it leaves everything.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from batches import progress
from documents import cache
from documents.conversion import metadata_for
from documents.engines.base import ConversionResult
from documents.models import Document
from ilios import metrics
from jobs import db, webhooks
from jobs.models import Delivery, Job
from usage import billing


def converted_in_request(document: Document, result: ConversionResult, now) -> None:
    """A synchronous conversion (`POST /v1/convert`): no job, billed as such."""
    converted([(document, result)], now, billing.Operation.SYNC_CONVERT)


def converted(
    finished: list[tuple[Document, ConversionResult]],
    now,
    operation: billing.Operation = billing.Operation.CONVERT,
) -> None:
    """Store the Markdown, bill it and count it in its batch, for many documents at once.

    A few statements whatever their number: the queue's workers finish many jobs a second and
    record them together.
    """
    _completed(
        [
            Document(
                id=document.id,
                status=Document.Status.COMPLETED,
                content=result.markdown,
                pages=result.pages_processed,
                metadata=metadata_for(document, result),
                error="",
                processed_at=now,
            )
            for document, result in finished
        ],
        [_charge(document, result, operation) for document, result in finished],
        [document for document, _ in finished],
        now,
    )


def reused(copies: list[tuple[Document, Document]], now) -> None:
    """New documents completed at once with the Markdown of an earlier conversion of the same
    bytes, engine and options (`documents.cache`, each paired with that source): billed as
    `cached`, at no cost, counted in their batch and announced like any other completion.

    The documents passed in are changed too, so the caller answers with what was recorded.
    """
    if not copies:
        return
    for document, source in copies:
        document.status = Document.Status.COMPLETED
        document.content = source.content
        document.pages = source.pages
        document.metadata = cache.metadata_for(document, source)
        document.error = ""
        document.processed_at = now
    counted = [(document.engine, document.pages or 0) for document, _ in copies]
    transaction.on_commit(lambda: metrics.reused_many(counted))
    _completed(
        [document for document, _ in copies],
        [
            billing.Charge(
                document_id=document.id,
                api_key_id=document.api_key_id,
                engine=document.engine,
                pages=document.pages or 0,
                operation=billing.Operation.CACHED,
            )
            for document, _ in copies
        ],
        [document for document, _ in copies],
        now,
    )


def _completed(rows: list[Document], charges: list[billing.Charge], documents, now) -> None:
    if not rows:
        return
    db.update_each(
        Document, rows, ["status", "content", "pages", "metadata", "error", "processed_at"]
    )
    billing.record(charges, now)
    webhooks.announce_documents(Delivery.Event.DOCUMENT_COMPLETED, documents, now)
    for document in documents:
        if document.batch_id and progress.document_finished(
            document.batch_id, succeeded=True, now=now
        ):
            webhooks.announce_batch(document.batch_id, now)


def _charge(document: Document, result: ConversionResult, operation) -> billing.Charge:
    return billing.Charge(
        document_id=document.id,
        api_key_id=document.api_key_id,
        engine=document.engine,
        pages=result.pages_processed,
        operation=operation,
        input_tokens=result.input_tokens or 0,
        output_tokens=result.output_tokens or 0,
    )


def failed(document: Document, error: str, now) -> None:
    Document.objects.filter(id=document.id).update(
        status=Document.Status.FAILED, error=error, processed_at=now
    )
    webhooks.announce_documents(Delivery.Event.DOCUMENT_FAILED, [document], now)
    if document.batch_id and progress.document_finished(
        document.batch_id, succeeded=False, now=now
    ):
        webhooks.announce_batch(document.batch_id, now)


def failed_many(documents, reasons: dict, reason: str, now) -> None:
    """Fail documents of a Mistral batch, each with its own reason when `reasons` has one (a
    string), else with `reason`."""
    for document in documents:
        own = reasons.get(document.id)
        failed(document, own if isinstance(own, str) else reason, now)


def cancelled(document_ids, now) -> int:
    """Documents cancelled before their conversion ended (a fanned-out one may be processing:
    some of its parts ran); their batches count them as done."""
    pending = Document.objects.filter(
        id__in=document_ids, status__in=[Document.Status.PENDING, Document.Status.PROCESSING]
    )
    per_batch = _count_per_batch(pending)
    count = pending.update(status=Document.Status.CANCELLED, processed_at=now)
    for batch_id in progress.documents_cancelled(per_batch, now):
        webhooks.announce_batch(batch_id, now)
    return count


def reopened(document_ids) -> None:
    """Failed documents go back to pending for a fresh set of attempts."""
    failed_documents = Document.objects.filter(id__in=document_ids, status=Document.Status.FAILED)
    per_batch = _count_per_batch(failed_documents)
    failed_documents.update(status=Document.Status.PENDING, error="", processed_at=None)
    progress.documents_reopened(per_batch)


def _count_per_batch(documents) -> dict[str, int]:
    return dict(
        documents.exclude(batch=None).values_list("batch").annotate(n=Count("id")).order_by()
    )


def summary(result: ConversionResult) -> dict:
    """What the job's own row keeps of a result (the Markdown is the document's)."""
    return {
        "pages": result.pages_processed,
        "model": result.model,
        "processingTimeMs": result.processing_ms,
    }


def delivery_attempted(job: Job, status_code: int | None) -> None:
    """A webhook delivery's attempt: what the receiver answered, for the operator and the API."""
    Delivery.objects.filter(job_id=job.id).update(last_status_code=status_code)
