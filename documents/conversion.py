"""Running a document through its engine and recording the outcome.

The queue calls `run` outside any transaction (it can take minutes), then `record_success` or
`record_failure` inside the transaction that finishes the job, so that the document, its usage
record and its batch's counters change together or not at all.
"""

from __future__ import annotations

from django.db.models import Count

from batches import progress
from documents import storage
from documents.engines import get_engine
from documents.engines.base import ConversionOptions, ConversionResult, parse_page_range
from documents.models import Document
from ilios import bulk, crypto
from usage import billing

SECRET_PAYLOAD_KEYS = ("sealedPassword",)


def payload_for(options: ConversionOptions, pages_text: str | None) -> dict:
    """A job payload carrying the request's options; the password only ever sealed."""
    payload: dict = {}
    if pages_text:
        payload["pages"] = pages_text
    if options.force_ocr:
        payload["forceOcr"] = True
    if options.password:
        payload["sealedPassword"] = crypto.seal(options.password)
    return payload


def options_from_payload(payload: dict) -> ConversionOptions:
    sealed = payload.get("sealedPassword")
    return ConversionOptions(
        pages=parse_page_range(payload["pages"]) if payload.get("pages") else None,
        password=crypto.unseal(sealed) if sealed else None,
        force_ocr=bool(payload.get("forceOcr")),
    )


def without_secrets(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if key not in SECRET_PAYLOAD_KEYS}


def run(document: Document, payload: dict) -> ConversionResult:
    engine = get_engine(document.engine)
    with storage.local_copy(document.original) as path:
        return engine.convert(path, document.mime_type, options_from_payload(payload))


def metadata_for(document: Document, result: ConversionResult) -> dict:
    return {
        "model": result.model,
        "engine": document.engine,
        "extractedPages": result.pages_processed,
        "processingTimeMs": result.processing_ms,
        "fileName": document.file_name,
        "fileSize": document.file_size,
        "mimeType": document.mime_type,
    }


def summarise(result: ConversionResult) -> dict:
    return {
        "pages": result.pages_processed,
        "model": result.model,
        "processingTimeMs": result.processing_ms,
    }


def record_success(
    document: Document, result: ConversionResult, now, operation: str = "convert"
) -> None:
    """Store the Markdown, bill it and count it in its batch. Caller holds the transaction."""
    record_successes([(document, result)], now, operation)


def record_successes(
    finished: list[tuple[Document, ConversionResult]], now, operation: str = "convert"
) -> None:
    """`record_success` for many documents at once, in a few statements whatever their number.

    The queue's workers finish many jobs a second; recording them together keeps the cost per
    document down. Caller holds the transaction.
    """
    if not finished:
        return
    bulk.update_each(
        Document,
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
        ["status", "content", "pages", "metadata", "error", "processed_at"],
    )
    billing.record_many(finished, operation, now)
    for document, _ in finished:
        if document.batch_id:
            progress.document_finished(document.batch_id, succeeded=True, now=now)


def record_failure(document: Document, error: str, now) -> None:
    Document.objects.filter(id=document.id).update(
        status=Document.Status.FAILED, error=error, processed_at=now
    )
    if document.batch_id:
        progress.document_finished(document.batch_id, succeeded=False, now=now)


def reopen(document_ids) -> None:
    """Failed documents go back to pending for a fresh set of attempts."""
    failed = Document.objects.filter(id__in=document_ids, status=Document.Status.FAILED)
    per_batch = dict(
        failed.exclude(batch=None).values_list("batch").annotate(n=Count("id")).order_by()
    )
    failed.update(status=Document.Status.PENDING, error="", processed_at=None)
    progress.documents_reopened(per_batch)


def record_cancelled(document_ids, now) -> int:
    """Pending documents cancelled before conversion; their batches count them as done."""
    cancelled = Document.objects.filter(id__in=document_ids, status=Document.Status.PENDING)
    per_batch = dict(
        cancelled.exclude(batch=None).values_list("batch").annotate(n=Count("id")).order_by()
    )
    count = cancelled.update(status=Document.Status.CANCELLED, processed_at=now)
    progress.documents_cancelled(per_batch, now)
    return count
