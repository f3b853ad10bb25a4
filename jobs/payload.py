"""A convert job's payload: the request's options, carried from the API to the worker.

The payload is stored in the job's row, so a PDF's password travels in it only sealed (with a
key derived from SECRET_KEY, which the API and the workers share) and is dropped from the job
when it ends, whether it completed, failed or was cancelled.
"""

from __future__ import annotations

from documents.engines.base import ConversionOptions, parse_page_range
from ilios import crypto

SECRET_KEYS = ("sealedPassword",)


def for_options(options: ConversionOptions, pages_text: str | None) -> dict:
    payload: dict = {}
    if pages_text:
        payload["pages"] = pages_text
    if options.force_ocr:
        payload["forceOcr"] = True
    if options.password:
        payload["sealedPassword"] = crypto.seal(options.password)
    return payload


def options(payload: dict) -> ConversionOptions:
    sealed = payload.get("sealedPassword")
    return ConversionOptions(
        pages=parse_page_range(payload["pages"]) if payload.get("pages") else None,
        password=crypto.unseal(sealed) if sealed else None,
        force_ocr=bool(payload.get("forceOcr")),
    )


def without_secrets(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if key not in SECRET_KEYS}
