"""What the document endpoints do, as plain functions the views (and batches) call."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.generics import get_object_or_404

from documents import cache, conversion, engines, formats, limits, retention, storage
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
from documents.uploads import UploadTooLarge
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
    of each part its conversion fans out into (`conversion.page_parts`)."""
    return check_file(
        Path(upload.temporary_file_path()),
        upload.name,
        upload.size,
        getattr(upload, "mime_type", None),
        options,
    )


def check_file(
    path: Path, name: str, size: int, mime_type: str | None, options: ConversionOptions
) -> list[tuple[int, ...]]:
    """Refuse what no engine can read, before it is queued; returns the pages of each part.

    A damaged file, a missing or wrong password, pages past the end and a document past a cap
    (documents.limits) are a clear 4xx now rather than a failed job later.
    """
    if size == 0:
        raise ApiError(status.HTTP_400_BAD_REQUEST, "empty_file", "the uploaded file is empty")
    if mime_type not in formats.SUPPORTED:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"{name!r} is not a supported document: send {formats.described()}",
        )
    try:
        pages = limits.check_document(path, mime_type, options)
    except ConversionError as exc:
        raise as_api_error(exc) from None
    return conversion.page_parts(mime_type, pages)


def new_document(
    upload,
    *,
    api_key,
    engine: str,
    options: ConversionOptions,
    retention_days: int,
    priority: int,
    batch=None,
    configuration: Mapping[str, str] | None = None,
) -> Document:
    """`configuration`: the settings the engine converts under, when the request changes
    them (a Mistral batch's model); by default the server's."""
    if configuration is None:
        configuration = engines.configuration(engine)
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
        cache_key=cache.key_for(upload.sha256, engine, options, configuration),
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
    use_cache: bool = True,
) -> Document:
    """Store the original and queue its conversion (in parts, when it fans out); the document
    stays pending until a worker claims it, or its first part.

    When the same key converted the same bytes with the same options before (`documents.cache`),
    the document is completed from that result at once instead, and no job is queued.
    """
    parts = check_upload(upload, options)
    document = new_document(
        upload,
        api_key=api_key,
        engine=engine,
        options=options,
        retention_days=retention_days,
        priority=priority,
    )
    document.webhook_url = webhook_url
    source = reusable(document, options, use_cache)
    document.original = storage.store_original(document.id, upload)
    with storage.deleted_on_error(document.original), transaction.atomic():
        document.save(force_insert=True)
        if source:
            outcomes.reused([(document, source)], timezone.now())
        else:
            queue.enqueue(document, job_payload.for_options(options, pages_text), parts)
    return document


def start_direct_upload(
    *, api_key, file_name: str, file_size: int, mime_type: str, retention_days: int
) -> tuple[Document, str, dict]:
    """Create an `uploading` document and presign the PUT of its original to the bucket;
    returns it, the URL and the headers the PUT must send.

    Nothing is queued: the document waits for `complete_direct_upload`. A crash after the
    commit, or a client that never uploads or never completes, leaves an `uploading` row (and
    perhaps an object): `documents.leftovers` removes both after ORPHAN_GRACE.
    """
    _require_presigning()
    if file_size > settings.MAX_UPLOAD_SIZE:
        raise UploadTooLarge()
    if mime_type and mime_type not in formats.SUPPORTED:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"{mime_type!r} is not a supported document type: send {formats.described()}",
        )
    document = Document(
        file_name=file_name[:255],
        mime_type=mime_type or "application/octet-stream",
        file_size=file_size,
        sha256="",
        status=Document.Status.UPLOADING,
        engine=engines.resolve(None),
        retention_days=retention_days,
        api_key=api_key,
        created_at=timezone.now(),
    )
    document.original = storage.original_key(document.id)
    document.save(force_insert=True)
    url, headers = storage.presigned_upload(document.original, file_size, mime_type or None)
    return document, url, headers


def _require_presigning() -> None:
    if not storage.presigns():
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "direct_upload_unavailable",
            "this server keeps originals on its local disk (no S3_BUCKET), so it cannot take "
            "direct uploads: POST the file to /v1/documents instead",
        )


def complete_direct_upload(document_id: str, api_key, data: dict) -> Document:
    """Check the object a client PUT to its upload URL as an upload is checked, then queue it
    as a submission is queued; returns the document.

    Idempotent: a document no longer `uploading` (completed before, perhaps by a request whose
    answer the client never got) is returned as it is, and the options are not applied again.
    Two completions racing both check the object; the conditional update lets one queue it.
    A refused completion changes nothing: the client may PUT again while its URL lasts, or
    complete with other options (a password, a page range); what is never completed is swept.

    The URL's holder could PUT other bytes of the same size and type after completing, until
    the URL expires; the worker then converts those, within the same caps (the engines enforce
    them again), and the recorded sha256 no longer matches them.
    """
    document = get_object_or_404(visible_documents(api_key).defer("content"), id=document_id)
    if document.status != Document.Status.UPLOADING:
        return document
    _require_presigning()
    engine, options, pages_text = conversion_options(data)
    webhook_url = webhook_target(data, api_key)
    size = storage.stored_size(document.original)
    if size is None:
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "upload_missing",
            "nothing has been uploaded to this document's uploadUrl: PUT the file there first",
        )
    if size > settings.MAX_UPLOAD_SIZE:
        raise UploadTooLarge()
    with storage.local_copy(document.original) as path:
        with path.open("rb") as original:
            head = original.read(formats.SNIFF_BYTES)
            original.seek(0)
            sha256 = hashlib.file_digest(original, "sha256").hexdigest()
        mime_type = formats.sniff(head)
        parts = check_file(path, document.file_name, size, mime_type, options)
    queued_fields = {
        "status": Document.Status.PENDING,
        "file_size": size,
        "mime_type": mime_type,
        "sha256": sha256,
        "engine": engine,
        "priority": data["priority"],
        "webhook_url": webhook_url,
    }
    with transaction.atomic():
        uploading = Document.objects.filter(id=document.id, status=Document.Status.UPLOADING)
        queued = uploading.update(**queued_fields)
        if queued:
            for field, value in queued_fields.items():
                setattr(document, field, value)
            queue.enqueue(document, job_payload.for_options(options, pages_text), parts)
    if queued:
        return document
    return get_object_or_404(visible_documents(api_key).defer("content"), id=document_id)


def abandon_upload(document: Document) -> None:
    """Cancel an `uploading` document and delete whatever was uploaded for it."""
    Document.objects.filter(id=document.id, status=Document.Status.UPLOADING).update(
        status=Document.Status.CANCELLED
    )
    retention.archive(document)


def reusable(document: Document, options: ConversionOptions, use_cache: bool) -> Document | None:
    """The earlier conversion a new document may take its result from, if any."""
    if not cache.wanted(options, use_cache):
        return None
    return cache.find(document.api_key, [document.cache_key]).get(document.cache_key)


def convert_now(
    upload,
    *,
    api_key,
    engine: str,
    options: ConversionOptions,
    retention_days: int,
    use_cache: bool = True,
) -> tuple[Document, ConversionResult | None]:
    """Store the original, convert in the request, then record the document and bill it in
    one transaction; the result is None when an earlier conversion's was reused
    (`documents.cache`) and no engine ran.

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
        upload,
        api_key=api_key,
        engine=engine,
        options=options,
        retention_days=retention_days,
        priority=0,
    )
    source = reusable(document, options, use_cache)
    document.original = storage.store_original(document.id, upload)
    with storage.deleted_on_error(document.original):
        if source:
            with transaction.atomic():
                document.save(force_insert=True)
                outcomes.reused([(document, source)], timezone.now())
            return document, None
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
