"""Submitting, reading and cancelling batches."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from batches import progress
from batches.models import Batch
from documents import services, storage
from documents.engines.base import ConversionOptions
from documents.models import Document
from ilios.errors import ApiError
from jobs import payload as job_payload
from jobs import queue, webhooks


def submit(
    uploads,
    *,
    api_key,
    engine: str,
    options: ConversionOptions,
    pages_text: str | None,
    retention_days: int,
    priority: int,
    webhook_url: str = "",
) -> Batch:
    """Store every readable file, then create the batch, its documents and jobs at once.

    A file no engine can read becomes a failed document of the batch, with the reason, so the
    client gets one answer per file. Nothing reaches the database until every original is
    stored, so a crash half-way leaves no batch that can never finish.
    """
    batch = Batch(
        api_key=api_key,
        total_documents=len(uploads),
        priority=priority,
        retention_days=retention_days,
        created_at=timezone.now(),
        webhook_url=webhook_url,
    )
    accepted, rejected = [], []
    parts: dict[str, list[tuple[int, ...]]] = {}
    try:
        for upload in uploads:
            document = _document_for(upload, batch, api_key, engine, retention_days, priority)
            try:
                parts[document.id] = services.check_upload(upload, options)
            except ApiError as exc:
                document.status = Document.Status.FAILED
                document.error = str(exc.detail)
                document.processed_at = batch.created_at
                rejected.append(document)
                continue
            document.original = storage.store_original(document.id, upload)
            accepted.append(document)
        with transaction.atomic():
            batch.save(force_insert=True)
            Document.objects.bulk_create(accepted + rejected)
            payload = job_payload.for_options(options, pages_text)
            for document in accepted:
                queue.enqueue(document, payload, parts[document.id])
            for _ in rejected:
                if progress.document_finished(batch.id, succeeded=False, now=batch.created_at):
                    webhooks.announce_batch(batch.id, batch.created_at)  # every file refused
    except BaseException:
        for document in accepted:
            storage.delete_original(document.original)
        raise
    batch.refresh_from_db()
    return batch


def _document_for(upload, batch, api_key, engine, retention_days, priority) -> Document:
    document = services.new_document(
        upload,
        api_key=api_key,
        engine=engine,
        retention_days=retention_days,
        priority=priority,
        batch=batch,
    )
    document.mime_type = document.mime_type or "application/octet-stream"
    document.webhook_url = batch.webhook_url  # each document is announced as well as the batch
    document.set_expiry()
    return document


def visible_batches(api_key):
    return Batch.objects.filter(api_key=api_key)


def cancel(batch: Batch) -> int:
    """Cancel the batch's pending documents; those already converting finish normally.

    The batch is marked cancelled first, so its last documents cannot finish it as completed.
    """
    with transaction.atomic():
        Batch.objects.filter(id=batch.id, status__in=progress.OPEN).update(
            status=Batch.Status.CANCELLED, completed_at=timezone.now()
        )
        return queue.cancel_pending(
            list(
                batch.documents.filter(status=Document.Status.PENDING).values_list("id", flat=True)
            )
        )
