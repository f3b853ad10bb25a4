"""What the document endpoints do, as plain functions the views (and batches) call."""

from __future__ import annotations

import functools
import time
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from rest_framework import status

from documents import conversion, engines, formats, limits, storage
from documents.engines.base import (
    ConversionError,
    ConversionOptions,
    ConversionResult,
    EngineUnavailable,
    InvalidPageRange,
    LimitExceeded,
    PasswordRequired,
    WrongPassword,
    parse_page_range,
)
from documents.models import Document, status_body
from ilios.errors import ApiError
from jobs import outcomes, queue, webhooks
from jobs import payload as job_payload

# Problems with the request's own fields are 400s; a document past a cap (documents.limits) is
# a 413; a document no engine can read is a 422.
_STATUS_FOR = {InvalidPageRange: 400, PasswordRequired: 400, WrongPassword: 400}


def conversion_options(data: dict) -> tuple[str, ConversionOptions, str | None]:
    """The engine name, options and page-range text of a validated request, or a 400."""
    try:
        engine = engines.resolve(data.get("engine") or None)
        pages_text = (data.get("pages") or "").strip() or None
        options = ConversionOptions(
            pages=parse_page_range(pages_text) if pages_text else None,
            password=data.get("password") or None,
            force_ocr=bool(data.get("forceOcr")),
        )
    except engines.UnknownEngine as exc:
        raise ApiError(status.HTTP_400_BAD_REQUEST, "invalid_engine", str(exc)) from None
    except ConversionError as exc:
        raise as_api_error(exc) from None
    return engine, options, pages_text


def as_api_error(exc: ConversionError) -> ApiError:
    if isinstance(exc, LimitExceeded):
        return ApiError(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            exc.code,
            str(exc),
            details={"setting": exc.setting, "maximum": exc.maximum},
        )
    return ApiError(_STATUS_FOR.get(type(exc), 422), exc.code, str(exc))


def webhook_target(data: dict, api_key) -> str:
    """The validated request's webhook target (its own, checked now, or the key's default);
    a 400 for a URL that will not be called."""
    try:
        return webhooks.target_for(data.get("webhookUrl") or "", api_key)
    except (webhooks.RefusedTarget, webhooks.MissingSecret) as exc:
        raise ApiError(status.HTTP_400_BAD_REQUEST, exc.code, str(exc)) from None


def check_upload(upload, options: ConversionOptions) -> list[tuple[int, ...]]:
    """Refuse what no engine can read, before anything is stored or queued; returns the pages
    of each part its conversion fans out into (`conversion.page_parts`).

    A damaged file, a missing or wrong password, pages past the end and a document past a cap
    (documents.limits) are a clear 4xx now rather than a failed job later.
    """
    if upload.size == 0:
        raise ApiError(status.HTTP_400_BAD_REQUEST, "empty_file", "the uploaded file is empty")
    if getattr(upload, "mime_type", None) not in formats.SUPPORTED:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"{upload.name!r} is not a supported document: send {formats.described()}",
        )
    try:
        pages = limits.check_document(Path(upload.temporary_file_path()), upload.mime_type, options)
    except ConversionError as exc:
        raise as_api_error(exc) from None
    return conversion.page_parts(upload.mime_type, pages)


def new_document(
    upload, *, api_key, engine: str, retention_days: int, priority: int, batch=None
) -> Document:
    return Document(
        file_name=upload.name[:255],
        mime_type=upload.mime_type,
        file_size=upload.size,
        sha256=upload.sha256,
        engine=engine,
        priority=priority,
        retention_days=retention_days,
        api_key=api_key,
        batch=batch,
        created_at=timezone.now(),
    )


def submit(
    upload,
    *,
    api_key,
    engine: str,
    options: ConversionOptions,
    pages_text: str | None,
    retention_days: int,
    priority: int,
    webhook_url: str = "",
) -> Document:
    """Store the original and queue its conversion (in parts, when it fans out); the document
    stays pending until a worker claims it, or its first part."""
    parts = check_upload(upload, options)
    document = new_document(
        upload, api_key=api_key, engine=engine, retention_days=retention_days, priority=priority
    )
    document.webhook_url = webhook_url
    document.original = storage.store_original(document.id, upload)
    with storage.deleted_on_error(document.original), transaction.atomic():
        document.save(force_insert=True)
        queue.enqueue(document, job_payload.for_options(options, pages_text), parts)
    return document


def convert_now(
    upload, *, api_key, engine: str, options: ConversionOptions, retention_days: int
) -> tuple[Document, ConversionResult]:
    """Store the original, convert in the request, then record the document and bill it in
    one transaction.

    The original is stored before the engine is called: a conversion may be paid for (Mistral
    bills each page), so it must never run for an upload that then cannot be kept. Whatever
    fails after storing, the stored original is deleted again.

    A long PDF fans out into the same parts as a queued one, converted on a thread pool of this
    request rather than by the workers: the endpoint answers with no worker running, as it
    always has, and the request holds its connection for the conversion anyway. With Mistral
    the parts' requests overlap; with the local engine a process converts one page at a time
    (PDFium and the GIL), so the parts there bound memory, and the queue's workers, spread over
    processes and hosts, are the way to convert a long document faster.
    """
    parts = check_upload(upload, options)
    document = new_document(
        upload, api_key=api_key, engine=engine, retention_days=retention_days, priority=0
    )
    document.original = storage.store_original(document.id, upload)
    with storage.deleted_on_error(document.original):
        started = time.monotonic()
        try:
            with storage.local_copy(document.original, upload) as path:
                result = conversion.convert_parts(engine, path, upload.mime_type, options, parts)
        except ConversionError as exc:
            raise as_api_error(exc) from None
        except EngineUnavailable as exc:
            raise ApiError(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "engine_unavailable",
                str(exc),
                retry_after=exc.retry_after or 5,
            ) from None
        result.processing_ms = result.processing_ms or round((time.monotonic() - started) * 1000)
        with transaction.atomic():
            document.save(force_insert=True)
            outcomes.converted_in_request(document, result, timezone.now())
    document.refresh_from_db()
    return document, result


_STATUS_COLUMNS = ("id", "status", "file_name", "error", "metadata")


@functools.cache
def _status_sql(keyless: bool) -> str:
    quote = connection.ops.quote_name
    column = {name: quote(Document._meta.get_field(name).column) for name in _STATUS_COLUMNS}
    key = quote(Document._meta.get_field("api_key").column)
    owner = f"{key} IS NULL" if keyless else f"{key} = %s"
    return (
        f"SELECT {', '.join(column.values())} FROM {quote(Document._meta.db_table)} "
        f"WHERE {column['id']} = %s AND {owner}"
    )


def document_status(document_id: str, api_key) -> dict | None:
    """The status of one of the caller's documents, or None; one precompiled query.

    Clients poll this endpoint. Composing the ORM query cost ten times running it (and most of
    the request), so its SQL is built once from the model's own table and column names.
    """
    params = [document_id] if api_key is None else [document_id, api_key.id]
    with connection.cursor() as cursor:
        cursor.execute(_status_sql(api_key is None), params)
        row = cursor.fetchone()
    if row is None:
        return None
    document_id, status, file_name, error, metadata = row
    metadata = Document._meta.get_field("metadata").from_db_value(metadata, None, connection)
    return status_body(document_id, status, file_name, error, metadata)


def visible_documents(api_key):
    """The documents a caller may see: those created with its key (or with no key, when open)."""
    return Document.objects.filter(api_key=api_key)
