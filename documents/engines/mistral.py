"""The Mistral OCR engine: the hosted API, reached through the official `mistralai` SDK.

The queue owns retries (attempts, backoff, Retry-After), so the SDK's own retries are switched off
and every failure is sorted into "try again later" (EngineUnavailable) or "never" (ConversionError).

The API takes at most 1,000 pages and 50 MB in one request (docs.mistral.ai, OCR). A PDF past
either is sent as PDFs of its pages, made with PDFium, each within both; the queue's fan-out
(`jobs.fanout`) keeps a part's page count under the first anyway, but only a PDF of the part's
own pages keeps its size under the second.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

import httpx2
import pypdfium2
import pypdfium2.raw as pdfium_c
from mistralai.client import Mistral, errors, models
from mistralai.client.utils import BackoffStrategy, RetryConfig

from documents import formats, limits, pdfium

from .base import (
    ConversionError,
    ConversionOptions,
    ConversionResult,
    Engine,
    EngineUnavailable,
    Page,
    UnreadableDocument,
    select_pages,
)

logger = logging.getLogger(__name__)

SIGNED_URL_EXPIRY_HOURS = 1  # the shortest the API allows: the URL is used once, at once
UNREADABLE_STATUSES = frozenset({400, 413, 415, 422})
NO_RETRIES = RetryConfig("none", BackoffStrategy(0, 0, 1, 0), retry_connection_errors=False)


class MistralAuthenticationFailed(ConversionError):
    """The API refused the key: a configuration error that no retry of this document can fix."""

    code = "engine_authentication_failed"


class MistralEngine(Engine):
    name = "mistral"
    # Above this many bytes the document is uploaded instead of inlined: a base64 data URL grows
    # the JSON body by a third, and the API caps request bodies well below its file limit.
    inline_limit_bytes = 10 * 1024 * 1024
    # What the API takes in one request; a PDF past either limit is sent in pieces.
    request_page_limit = 1000
    request_byte_limit = 50 * 1024 * 1024

    def __init__(
        self,
        api_key: str,
        model: str = "mistral-ocr-latest",
        server_url: str | None = None,
        timeout_s: float = 120,
    ):
        self.model = model
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._client = Mistral(
            api_key=api_key,
            server_url=server_url,
            retry_config=NO_RETRIES,
            timeout_ms=int(timeout_s * 1000),
        )

    def __repr__(self) -> str:
        return f"MistralEngine(model={self.model!r})"

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        started = time.monotonic()
        with _readable_copy(path, mime_type, options.password) as (source, page_count):
            pages = _zero_based_pages(options.pages, mime_type, page_count)
            try:
                if page_count is not None and self._past_limits(source, page_count):
                    converted, model = self._ocr_in_pieces(source, pages or list(range(page_count)))
                else:
                    response = self._ocr(source, mime_type, pages)
                    converted = [_page(page, page.index) for page in response.pages]
                    model = response.model
            except (errors.MistralError, errors.NoResponseError, httpx2.TransportError) as exc:
                # The translation carries status and server message; dropping the SDK's error
                # from the chain keeps its raw body (which could echo a credential) out of logs.
                raise self._translate(exc) from None
        return ConversionResult(
            pages=converted,
            model=model or self.model,
            processing_ms=int((time.monotonic() - started) * 1000),
        )

    def _past_limits(self, source: BinaryIO, page_count: int) -> bool:
        """Whether one request cannot carry the document: too many pages (the API counts the
        document's, whichever it is asked to read), or too many bytes."""
        too_large = os.fstat(source.fileno()).st_size > self.request_byte_limit
        return page_count > self.request_page_limit or too_large

    def _ocr_in_pieces(self, source: BinaryIO, indices: list[int]) -> tuple[list[Page], str]:
        """Send the PDF's pages as PDFs of at most `request_page_limit` pages each, halved
        until each is within `request_byte_limit`; one page past it alone cannot be sent.

        Each piece is an unnamed temporary file (as a decrypted copy is): the pieces of a
        protected document are readable too.
        """
        converted: list[Page] = []
        model = ""
        limit = self.request_page_limit
        pieces = [indices[start : start + limit] for start in range(0, len(indices), limit)]
        with pdfium.lock:
            source.seek(0)
            document = pypdfium2.PdfDocument(source)
        try:
            while pieces:
                piece = pieces.pop(0)
                with tempfile.TemporaryFile() as subset:
                    with pdfium.lock:
                        _save_pages(document, piece, subset)
                    size = os.fstat(subset.fileno()).st_size
                    if size > self.request_byte_limit:
                        if len(piece) == 1:
                            raise UnreadableDocument(
                                f"page {piece[0] + 1} alone is {size:,} bytes: more than the "
                                f"{self.request_byte_limit:,} Mistral OCR takes in a request"
                            )
                        half = len(piece) // 2
                        pieces[:0] = [piece[:half], piece[half:]]
                        continue
                    subset.seek(0)
                    response = self._ocr(subset, formats.PDF, None)
                converted += [_page(page, piece[page.index]) for page in response.pages]
                model = response.model
        finally:
            with pdfium.lock:
                document.close()
        return converted, model

    def _ocr(self, source: BinaryIO, mime_type: str, pages: list[int] | None) -> models.OCRResponse:
        """Inline small documents; upload big ones and hand the API a short-lived signed URL."""
        if os.fstat(source.fileno()).st_size <= self.inline_limit_bytes:
            return self._process(_chunk(mime_type, _data_url(source, mime_type)), pages)
        file_id = self._upload(source, mime_type)
        try:
            signed = self._client.files.get_signed_url(
                file_id=file_id, expiry=SIGNED_URL_EXPIRY_HOURS
            )
            return self._process(_chunk(mime_type, signed.url), pages)
        finally:
            self._delete_quietly(file_id)

    def _process(self, document: dict, pages: list[int] | None) -> models.OCRResponse:
        return self._client.ocr.process(
            model=self.model,
            document=document,
            pages=pages,
            include_image_base64=False,
            include_blocks=False,
        )

    def _upload(self, source: BinaryIO, mime_type: str) -> str:
        """Name the upload after its type: stored originals and temp copies carry no extension
        the API could go by."""
        name = f"document{mimetypes.guess_extension(mime_type) or ''}"
        uploaded = self._client.files.upload(
            file={"file_name": name, "content": source, "content_type": mime_type},
            purpose="ocr",
        )
        return uploaded.id

    def _delete_quietly(self, file_id: str) -> None:
        """Best effort: a leftover upload costs storage, not correctness, so never fail the job."""
        try:
            self._client.files.delete(file_id=file_id)
        except Exception as exc:  # any failure here is worth a warning, not a failed job
            logger.warning(
                "could not delete uploaded file %s from Mistral: %s",
                file_id,
                self._redact(str(exc)),
            )

    def _translate(self, exc: Exception) -> Exception:
        """Sort an SDK/transport failure into retryable or permanent, with the key scrubbed."""
        if isinstance(exc, httpx2.TimeoutException):
            return EngineUnavailable(f"Mistral OCR did not answer within {self.timeout_s:g} s")
        if isinstance(exc, httpx2.TransportError | errors.NoResponseError):
            return EngineUnavailable(
                f"could not reach Mistral OCR: {self._redact(str(exc)) or type(exc).__name__}"
            )
        status = exc.status_code
        detail = self._redact(_server_message(exc.body))
        if status == 429:
            return EngineUnavailable(
                f"Mistral OCR rate limit reached: {detail}",
                retry_after=_retry_after_seconds(exc.headers.get("retry-after")),
            )
        if status in (401, 403):
            return MistralAuthenticationFailed(
                f"Mistral OCR refused the API key (HTTP {status}): check MISTRAL_API_KEY"
            )
        if status == 408 or status >= 500 or status < 400:
            return EngineUnavailable(f"Mistral OCR failed (HTTP {status}): {detail}")
        if status in UNREADABLE_STATUSES:
            return UnreadableDocument(f"Mistral OCR could not read the document: {detail}")
        return ConversionError(f"Mistral OCR rejected the request (HTTP {status}): {detail}")

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]") if self._api_key else text


@contextmanager
def _readable_copy(
    path: Path, mime_type: str, password: str | None
) -> Iterator[tuple[BinaryIO, int | None]]:
    """Yield the document opened as the API can read it, and its page count when it is known.

    The API takes no password, so an encrypted PDF is decrypted into an unnamed temporary file
    (O_TMPFILE: it never has a name in any directory, and the kernel frees it when it is closed
    or the process dies, even by SIGKILL), so no readable copy of a protected document can
    outlive the conversion. A PDF that PDFium cannot parse at all goes as it is: Mistral, with
    its own parser, decides.
    """
    if mime_type != formats.PDF:
        with path.open("rb") as source:
            yield source, limits.image_page_count(path) if formats.is_image(mime_type) else None
        return
    page_count, decrypted = None, None
    with ExitStack() as cleanup:
        with pdfium.lock:
            try:
                document = pdfium.open_pdf(path, password)
            except UnreadableDocument:
                document = None
            if document is not None:
                try:
                    page_count = len(document)
                    if pdfium.is_encrypted(document):
                        decrypted = cleanup.enter_context(tempfile.TemporaryFile(dir=path.parent))
                        document.save(decrypted, flags=pdfium_c.FPDF_REMOVE_SECURITY)
                        decrypted.seek(0)
                finally:
                    document.close()
        source = decrypted or cleanup.enter_context(path.open("rb"))
        yield source, page_count


def _zero_based_pages(
    requested: tuple[int, ...] | None, mime_type: str, page_count: int | None
) -> list[int] | None:
    """The API counts pages from 0; check them (and MAX_PAGES) locally when the count is known,
    else let it."""
    if page_count is not None:
        indices = select_pages(requested, page_count)
    elif requested is None:
        return None
    else:
        indices = [number - 1 for number in requested]
    return None if requested is None or formats.is_image(mime_type) else indices


def _page(page: models.OCRPageObject, index: int) -> Page:
    return Page(index=index, markdown=page.markdown)


def _save_pages(document: pypdfium2.PdfDocument, indices: list[int], destination: BinaryIO) -> None:
    """A new PDF of these pages of `document`. Hold pdfium.lock."""
    subset = pypdfium2.PdfDocument.new()
    try:
        subset.import_pages(document, pages=indices)
        subset.save(destination)
    finally:
        subset.close()


def _chunk(mime_type: str, url: str) -> dict:
    if formats.is_image(mime_type):
        return {"type": "image_url", "image_url": url}
    return {"type": "document_url", "document_url": url}


def _data_url(source: BinaryIO, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(source.read()).decode('ascii')}"


def _server_message(body: str) -> str:
    """The human part of an error body: Mistral sends {"message": ...} or FastAPI's {"detail"}."""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError):
        return (body or "no details").strip()[:500]
    if not isinstance(payload, dict):
        return str(payload)[:500]
    detail = payload.get("message") or payload.get("detail") or payload
    if isinstance(detail, list):
        detail = "; ".join(str(item.get("msg", item)) for item in detail if item)
    return str(detail)[:500]


def _retry_after_seconds(header: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date; anything else is ignored."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
