"""The Mistral OCR engine: the hosted API, reached through the official `mistralai` SDK.

The queue owns retries (attempts, backoff, Retry-After), so the SDK's own retries are switched off
and every failure is sorted into "try again later" (EngineUnavailable) or "never" (ConversionError).

The API takes at most 1,000 pages and 50 MB in one request (docs.mistral.ai, OCR). A PDF past
either is sent as PDFs of its pages, made with PDFium, each within both; the queue's fan-out
(`jobs.fanout`) keeps a part's page count under the first anyway, but only a PDF of the part's
own pages keeps its size under the second.

Besides one document at a time, it speaks Mistral's Batch API (files and batch jobs), which
converts many documents in one job, later and at half the price: `write_batch_line`,
`upload_batch_input`, `start_batch`, `batch_job` and `batch_results`. The queue drives those
(`jobs.mistral_batches`); nothing here waits for a batch job to end.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
# A Mistral batch job in one of these has not ended yet; any other status is its end (SUCCESS,
# FAILED, TIMEOUT_EXCEEDED, CANCELLED), after which its output and error files are final.
BATCH_RUNNING = frozenset({"QUEUED", "RUNNING", "CANCELLATION_REQUESTED"})
# Jobs created this long before our upload are looked through too: our clock may run ahead of
# Mistral's, and a job missed there would be paid for twice.
CLOCK_SKEW_MARGIN = timedelta(hours=1)
SDK_FAILURES = (errors.MistralError, errors.NoResponseError, httpx2.TransportError)


@dataclass(frozen=True)
class BatchJobState:
    """What the queue needs of a Mistral batch job."""

    id: str
    status: str
    output_file: str | None
    error_file: str | None
    errors: tuple[str, ...]

    @property
    def running(self) -> bool:
        return self.status in BATCH_RUNNING

    @property
    def reason(self) -> str:
        """Why a document got no result: the job's own errors, else its status."""
        detail = "; ".join(self.errors)
        ended = f"Mistral batch job {self.id} ended {self.status}"
        return f"{ended}: {detail}" if detail else ended


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
            except SDK_FAILURES as exc:
                # The translation carries status and server message; dropping the SDK's error
                # from the chain keeps its raw body (which could echo a credential) out of logs.
                raise self._translate(exc) from None
        return ConversionResult(
            pages=converted,
            model=model or self.model,
            processing_ms=int((time.monotonic() - started) * 1000),
        )

    # --- Mistral's Batch API ------------------------------------------------------------------

    def write_batch_line(
        self,
        out: BinaryIO,
        custom_id: str,
        path: Path,
        mime_type: str,
        options: ConversionOptions,
    ) -> None:
        """Append one document's OCR request to a batch input file (JSON Lines).

        The document goes inline as a data URL, decrypted like a single conversion's, so no
        signed URL has to outlive the hours a batch job may wait at Mistral.
        """
        with _readable_copy(path, mime_type, options.password) as (source, page_count):
            pages = _zero_based_pages(options.pages, mime_type, page_count)
            body: dict = {
                "document": _chunk(mime_type, _data_url(source, mime_type)),
                "include_image_base64": False,
            }
            if pages is not None:
                body["pages"] = pages
        out.write(json.dumps({"custom_id": custom_id, "body": body}).encode() + b"\n")

    def upload_batch_input(self, source: BinaryIO) -> str:
        """Upload a batch input file; returns its file id."""
        uploaded = self._call(
            self._client.files.upload,
            file={
                "file_name": "batch.jsonl",
                "content": source,
                "content_type": "application/jsonl",
            },
            purpose="batch",
        )
        return uploaded.id

    def start_batch(
        self, input_file_id: str, model: str, metadata: dict[str, str], uploaded_at: datetime
    ) -> str:
        """The id of the batch job converting this input file: the one already created for it,
        else a new one.

        Looking first makes starting idempotent: a worker that died after Mistral created the
        job but before its id was recorded finds that job on the next attempt instead of paying
        for a second one. An input file is uploaded for one job only, so the job that reads it
        is ours; only jobs created since the upload (give or take the clocks' skew) are looked
        through.
        """
        page = 0
        while True:
            listed = self._call(
                self._client.batch.jobs.list,
                page=page,
                page_size=100,
                created_after=uploaded_at - CLOCK_SKEW_MARGIN,
                order_by="created",
            )
            for job in listed.data or []:
                if input_file_id in job.input_files:
                    return job.id
            if not listed.data or (page + 1) * 100 >= listed.total:
                break
            page += 1
        created = self._call(
            self._client.batch.jobs.create,
            endpoint="/v1/ocr",
            input_files=[input_file_id],
            model=model,
            metadata=metadata,
        )
        return created.id

    def batch_job(self, job_id: str) -> BatchJobState:
        job = self._call(self._client.batch.jobs.get, job_id=job_id)
        return BatchJobState(
            id=job.id,
            status=str(job.status),
            output_file=job.output_file or None,
            error_file=job.error_file or None,
            errors=tuple(error.message for error in job.errors),
        )

    def batch_results(self, job: BatchJobState) -> dict[str, ConversionResult | str]:
        """Each custom id's result in an ended job's output and error files: its conversion, or
        Mistral's reason for failing it. A request in neither file is missing from the dict."""
        results: dict[str, ConversionResult | str] = {}
        for file_id in (job.output_file, job.error_file):
            if file_id:
                response = self._call(self._client.files.download, file_id=file_id)
                try:
                    for line in response.iter_lines():
                        if line.strip():
                            custom_id, result = self._batch_result(json.loads(line))
                            results.setdefault(custom_id, result)
                finally:
                    response.close()
        return results

    def _batch_result(self, line: dict) -> tuple[str, ConversionResult | str]:
        response = line.get("response") or {}
        body = response.get("body") or {}
        status = response.get("status_code", 200)
        if line.get("error") or status >= 400 or "pages" not in body:
            error = line.get("error") or body
            message = error.get("message") if isinstance(error, dict) else error
            return line["custom_id"], self._redact(
                f"Mistral's Batch API could not convert the document: {message or status}"
            )
        return line["custom_id"], ConversionResult(
            pages=[Page(index=page["index"], markdown=page["markdown"]) for page in body["pages"]],
            model=body.get("model") or self.model,
        )

    def _call(self, request: Callable, **arguments):
        """Run one SDK call, with its failure sorted and scrubbed like a conversion's."""
        try:
            return request(**arguments)
        except SDK_FAILURES as exc:
            raise self._translate(exc) from None

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
            return EngineUnavailable(
                f"Mistral OCR did not answer within {self.timeout_s:g} s",
                kind=EngineUnavailable.TIMEOUT,
            )
        if isinstance(exc, httpx2.TransportError | errors.NoResponseError):
            return EngineUnavailable(
                f"could not reach Mistral OCR: {self._redact(str(exc)) or type(exc).__name__}",
                kind=EngineUnavailable.CONNECTION,
            )
        status = exc.status_code
        detail = self._redact(_server_message(exc.body))
        if status == 429:
            return EngineUnavailable(
                f"Mistral OCR rate limit reached: {detail}",
                retry_after=_retry_after_seconds(exc.headers.get("retry-after")),
                kind=EngineUnavailable.RATE_LIMIT,
            )
        if status in (401, 403):
            return MistralAuthenticationFailed(
                f"Mistral OCR refused the API key (HTTP {status}): check MISTRAL_API_KEY"
            )
        if status == 408:
            return EngineUnavailable(
                f"Mistral OCR failed (HTTP {status}): {detail}", kind=EngineUnavailable.TIMEOUT
            )
        if status >= 500 or status < 400:
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
