"""Submitting, reading and cancelling batches."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from batches import progress
from batches.models import Batch
from documents import cache, engines, services, storage
from documents.engines.base import ConversionOptions
from documents.models import Document
from ilios.errors import ApiError
from jobs import outcomes, queue, webhooks
from jobs import payload as job_payload

# Mistral's batch job runs /v1/ocr, which only its OCR models serve (mistral-ocr-latest,
# mistral-ocr-2505, ...): anything else would fail at Mistral after the upload.
MISTRAL_OCR_MODEL_NAME = re.compile(r"mistral-ocr-[a-z0-9][a-z0-9.-]*")


def mistral_batch_model(data: dict) -> str | None:
    """The Mistral model a validated submission's batch job runs, or None when the batch is not
    sent to Mistral's Batch API; a 400 when it cannot be."""
    model = (data.get("model") or "").strip()
    if not data.get("useMistralBatch"):
        if model:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "invalid_model",
                "`model` picks the model of Mistral's Batch API: send it with useMistralBatch=true",
            )
        return None
    if not settings.MISTRAL_API_KEY:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "mistral_batch_unavailable",
            "useMistralBatch=true needs the mistral engine, which is not configured on this "
            "server (MISTRAL_API_KEY)",
        )
    model = model or settings.MISTRAL_OCR_MODEL
    if not MISTRAL_OCR_MODEL_NAME.fullmatch(model):
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "invalid_model",
            f"{model[:100]!r} is not a Mistral OCR model: Mistral's Batch API converts documents "
            "with its OCR models only, such as mistral-ocr-latest",
        )
    return model


def check_mistral_batch_engine(mistral_model: str | None, engine: str) -> None:
    if mistral_model and engine != "mistral":
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "mistral_batch_unavailable",
            f"useMistralBatch=true sends the batch to Mistral: it cannot run on the {engine!r} "
            "engine (ask for engine=mistral or leave engine out)",
        )


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
    mistral_model: str | None = None,
    use_cache: bool = True,
) -> Batch:
    """Store every readable file, then create the batch, its documents and jobs at once.

    A file no engine can read becomes a failed document of the batch, with the reason, so the
    client gets one answer per file; a file the same key converted before with the same options
    is completed from that result (`documents.cache`) instead of queued. Nothing reaches the
    database until every original is stored, so a crash half-way leaves no batch that can never
    finish. With `mistral_model`, the documents get one job between them, which sends them to
    Mistral's Batch API (`jobs.mistral_batches`), instead of one each (and no earlier result is
    reused: the client asked for that batch job).
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
    configuration = engines.configuration(engine)
    if mistral_model:
        configuration["MISTRAL_OCR_MODEL"] = mistral_model  # what the batch job converts with
    try:
        for position, upload in enumerate(uploads):
            document = _document_for(
                upload, batch, api_key, engine, options, retention_days, priority, configuration
            )
            document.batch_position = position
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
        sources = (
            cache.find(api_key, [document.cache_key for document in accepted])
            if cache.wanted(options, use_cache) and not mistral_model
            else {}
        )
        with transaction.atomic():
            batch.save(force_insert=True)
            Document.objects.bulk_create(accepted + rejected)
            payload = job_payload.for_options(options, pages_text)
            if mistral_model:
                if accepted:
                    batch_payload = {**payload, "model": mistral_model}
                    queue.enqueue_mistral_batch(batch.id, priority, batch_payload)
            else:
                for document in accepted:
                    if document.cache_key not in sources:
                        queue.enqueue(document, payload, parts[document.id])
                outcomes.reused(
                    [(d, sources[d.cache_key]) for d in accepted if d.cache_key in sources],
                    batch.created_at,
                )
            for _ in rejected:
                if progress.document_finished(batch.id, succeeded=False, now=batch.created_at):
                    webhooks.announce_batch(batch.id, batch.created_at)  # every file refused
    except BaseException:
        for document in accepted:
            storage.delete_original(document.original)
        raise
    batch.refresh_from_db()
    return batch


def _document_for(
    upload, batch, api_key, engine, options, retention_days, priority, configuration
) -> Document:
    document = services.new_document(
        upload,
        api_key=api_key,
        engine=engine,
        options=options,
        retention_days=retention_days,
        priority=priority,
        batch=batch,
        configuration=configuration,
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
