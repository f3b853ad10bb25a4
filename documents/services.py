"""What the document endpoints do, as plain functions the views (and batches) call."""

from __future__ import annotations

from django.db import transaction
from rest_framework import status

from documents import engines, storage
from documents.conversion import payload_for
from documents.engines.base import ConversionOptions, InvalidPageRange, parse_page_range
from documents.models import Document
from documents.uploads import SUPPORTED_TYPES
from ilios.errors import ApiError
from jobs import queue


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
    except InvalidPageRange as exc:
        raise ApiError(status.HTTP_400_BAD_REQUEST, exc.code, str(exc)) from None
    return engine, options, pages_text


def check_upload(upload) -> None:
    """Refuse what no engine can read before anything is stored."""
    if upload.size == 0:
        raise ApiError(status.HTTP_400_BAD_REQUEST, "empty_file", "the uploaded file is empty")
    if getattr(upload, "mime_type", None) not in SUPPORTED_TYPES:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"{upload.name!r} is not a supported document: send a PDF or a PNG, JPEG, TIFF, "
            "WebP, BMP or GIF image",
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
    batch=None,
) -> Document:
    """Store the original and queue its conversion; the document stays pending until claimed."""
    check_upload(upload)
    document = Document(
        file_name=upload.name[:255],
        mime_type=upload.mime_type,
        file_size=upload.size,
        sha256=upload.sha256,
        engine=engine,
        priority=priority,
        retention_days=retention_days,
        api_key=api_key,
        batch=batch,
    )
    document.original = storage.store_original(document.id, upload)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            queue.enqueue(document, payload_for(options, pages_text))
    except BaseException:
        storage.delete_original(document.original)
        raise
    return document


def visible_documents(api_key):
    """The documents a caller may see: those created with its key (or with no key, when open)."""
    return Document.objects.filter(api_key=api_key)
