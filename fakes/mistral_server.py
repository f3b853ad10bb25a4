"""A fake Mistral API: a real HTTP server on 127.0.0.1 speaking the endpoints the engine calls.

Tests drive the real `mistralai` SDK against it (server_url=server.url), so request building,
response parsing and error handling are exercised for real without touching the internet.

    with FakeMistralServer() as server:
        server.latency_s = 0.5                    # every OCR call waits this long
        server.fail_next(status=429, retry_after=2)
        ...
        server.requests_to("ocr")[0].json["model"]

Its Batch API runs a batch job's OCR requests the way the OCR endpoint answers them, when the job
ends: a job answers RUNNING to `batch_polls_before_end` looks (or for as long as `hold_batches`
is set), then ends SUCCESS with an output file (and an error file for the requests that
failed, or that `batch_request_errors` names), or FAILED after `fail_next_batch()`.

Standalone, for benchmarks: python -m fakes.mistral_server --port 8765 --latency 0.5

The markdown is deterministic and derived from the document, so tests can assert real content:
a PDF page becomes "# Page N" followed by its text layer; an image becomes "# Page 1" followed by
its format and size.

Like the real API, an OCR request refuses a document of more than 1,000 pages (whichever pages
it asks for) or 50 MB (`max_pages`, `max_bytes`; tests may lower them): 400 and 413 with a
Mistral-shaped error body. Which status and words the real API uses for these was not found
documented; both are client errors the engine treats as final.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import io
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, UnidentifiedImageError

# PDFium is not thread-safe, and the server answers in many threads. In the tests it shares its
# process with Ilios, whose engines call PDFium while the fake parses their requests: one lock
# for both, Ilios's own, or the two corrupt each other's documents.
from documents.pdfium import lock as PDFIUM_LOCK

RENDER_DPI = 200
MAX_PAGES = 1000
MAX_BYTES = 50 * 2**20

ROUTES = (
    ("POST", re.compile(r"^/v1/ocr$"), "ocr"),
    ("POST", re.compile(r"^/v1/files$"), "upload"),
    ("GET", re.compile(r"^/v1/files/(?P<file_id>[^/]+)/url$"), "signed_url"),
    ("DELETE", re.compile(r"^/v1/files/(?P<file_id>[^/]+)$"), "delete"),
    ("GET", re.compile(r"^/v1/files/(?P<file_id>[^/]+)/content$"), "download"),
    ("POST", re.compile(r"^/v1/batch/jobs$"), "batch_create"),
    ("GET", re.compile(r"^/v1/batch/jobs$"), "batch_list"),
    ("GET", re.compile(r"^/v1/batch/jobs/(?P<job_id>[^/]+)$"), "batch_get"),
)


@dataclass
class RecordedRequest:
    """One request as received; `json` for JSON bodies, `form` for the upload's fields."""

    method: str
    path: str
    endpoint: str | None
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)

    @property
    def bearer_token(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None


@dataclass
class ScriptedFailure:
    status: int
    retry_after: float | str | None
    message: str
    endpoint: str | None


@dataclass
class StoredFile:
    id: str
    filename: str
    content: bytes
    purpose: str
    created_at: int


@dataclass
class BatchJob:
    id: str
    input_files: list[str]
    model: str | None
    metadata: dict[str, str] | None
    created_at: int
    status: str = "QUEUED"
    looks: int = 0  # GETs answered so far
    fails_with: str | None = None  # set by fail_next_batch: the job ends FAILED with this
    output_file: str | None = None
    error_file: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    total_requests: int = 0
    succeeded_requests: int = 0
    failed_requests: int = 0


@dataclass
class RawBody:
    """A handler's answer that is not JSON (a file's content)."""

    content: bytes
    content_type: str = "application/octet-stream"


class ApiError(Exception):
    """Answer the current request with this status and a Mistral-shaped error body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class FakeMistralServer:
    """The fake API. Attributes tests may set: `latency_s` (delay before each OCR answer)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        api_key: str | None = None,
    ):
        self.latency_s = latency_s
        self.api_key = api_key  # None accepts any bearer token
        self.max_pages = MAX_PAGES
        self.max_bytes = MAX_BYTES
        self.files: dict[str, StoredFile] = {}
        self.batch_jobs: dict[str, BatchJob] = {}
        self.batch_polls_before_end = 1
        self.hold_batches = False
        self.look_latency_s = 0.0  # delay before each answer about one batch job
        self._batch_failure: str | None = None
        self.batch_request_errors: dict[str, str] = {}  # custom_id -> the error its line gets
        self._requests: list[RecordedRequest] = []
        self._failures: deque[ScriptedFailure] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler, bind_and_activate=False)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 256  # the default backlog of 5 drops bursts of clients
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMistralServer:
        self._httpd.server_bind()
        self._httpd.server_activate()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeMistralServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(
        self,
        status: int,
        retry_after: float | str | None = None,
        message: str | None = None,
        endpoint: str | None = "ocr",
        times: int = 1,
    ) -> None:
        """Queue failures: the next `times` calls to `endpoint` ("ocr", "upload", "signed_url",
        "delete"; None for any) answer `status`, with a Retry-After header when given."""
        failure = ScriptedFailure(
            status, retry_after, message or _default_message(status), endpoint
        )
        with self._lock:
            self._failures.extend(itertools.repeat(failure, times))

    def fail_next_batch(self, message: str = "Batch job failed: internal error") -> None:
        """The next batch job created ends FAILED with this error, and no output file."""
        with self._lock:
            self._batch_failure = message

    def take_batch_failure(self) -> str | None:
        with self._lock:
            message, self._batch_failure = self._batch_failure, None
        return message

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    def reset(self) -> None:
        """Forget requests, scripted failures and uploads; for long benchmark runs."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self.files.clear()
            self.batch_jobs.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def take_failure(self, endpoint: str) -> ScriptedFailure | None:
        with self._lock:
            for failure in self._failures:
                if failure.endpoint in (None, endpoint):
                    self._failures.remove(failure)
                    return failure
        return None

    def check_auth(self, request: RecordedRequest) -> None:
        token = request.bearer_token
        if not token or (self.api_key is not None and token != self.api_key):
            raise ApiError(401, "Unauthorized")

    def signed_url_for(self, file_id: str) -> str:
        return f"{self.url}/signed/{file_id}?signature={uuid.uuid4().hex}"

    def file_behind(self, url: str) -> StoredFile:
        """Resolve one of our own signed URLs; the fake never fetches anything else."""
        parts = urlsplit(url)
        match = re.fullmatch(r"/signed/([^/]+)", parts.path)
        if f"{parts.scheme}://{parts.netloc}" != self.url or not match:
            raise ApiError(400, f"Failed to download document from url: {url[:80]}")
        try:
            return self.files[match.group(1)]
        except KeyError:
            raise ApiError(400, "Failed to download document: signed URL expired") from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server_version = "FakeMistral/1.0"
    # Headers and body go out in separate sends; with Nagle on, each body would wait for the
    # client's delayed ACK (40 ms), a delay the real API does not have.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and benchmarks read the requests log instead."""

    @property
    def fake(self) -> FakeMistralServer:
        return self.server.fake

    def _dispatch(self) -> None:
        try:
            try:
                request = self._read_request()
                self.fake.record(request)
                status, payload = self._answer(request)
                if isinstance(payload, RawBody):
                    self._send(status, payload.content, payload.content_type)
                else:
                    self._send_json(status, payload)
            except ApiError as error:
                self._send_json(error.status, _error_body(error), error.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test): nothing to say

    def _read_request(self) -> RecordedRequest:
        parts = urlsplit(self.path)
        endpoint, _ = _route(self.command, parts.path)
        body = self._read_body()
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            endpoint=endpoint,
            query={key: values[-1] for key, values in parse_qs(parts.query).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
        )
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json") and body:
            try:
                request.json = json.loads(body)
            except ValueError:
                raise ApiError(400, "Invalid JSON body") from None
        elif content_type.startswith("multipart/form-data"):
            request.form = _parse_multipart(content_type, body)
        return request

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _answer(self, request: RecordedRequest) -> tuple[int, Any]:
        endpoint, params = _route(request.method, request.path)
        if endpoint is None:
            raise ApiError(404, "Not Found")
        self.fake.check_auth(request)
        failure = self.fake.take_failure(endpoint)
        if failure is not None:
            raise _scripted_error(failure)
        handler = getattr(self, f"_on_{endpoint}")
        return 200, handler(request, **params)

    def _on_upload(self, request: RecordedRequest) -> dict[str, Any]:
        upload = request.form.get("file")
        if not isinstance(upload, dict):
            raise ApiError(422, "Field required: file")
        stored = StoredFile(
            id=str(uuid.uuid4()),
            filename=upload["filename"],
            content=upload["content"],
            purpose=request.form.get("purpose", "fine-tune"),
            created_at=int(time.time()),
        )
        self.fake.files[stored.id] = stored
        return _file_object(stored)

    def _on_signed_url(self, request: RecordedRequest, file_id: str) -> dict[str, Any]:
        if file_id not in self.fake.files:
            raise ApiError(404, f"File {file_id} not found")
        return {"url": self.fake.signed_url_for(file_id)}

    def _on_delete(self, request: RecordedRequest, file_id: str) -> dict[str, Any]:
        if self.fake.files.pop(file_id, None) is None:
            raise ApiError(404, f"File {file_id} not found")
        return {"id": file_id, "object": "file", "deleted": True}

    def _on_ocr(self, request: RecordedRequest) -> dict[str, Any]:
        return self._ocr(request.json or {})

    def _ocr(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("model") or not isinstance(body.get("document"), dict):
            raise ApiError(422, "Fields required: model, document")
        time.sleep(self.fake.latency_s)
        content = self._document_bytes(body["document"])
        if len(content) > self.fake.max_bytes:
            raise ApiError(
                413,
                f"Document size {len(content)} bytes exceeds the maximum of "
                f"{self.fake.max_bytes} bytes",
            )
        pages = _render_pages(content, body.get("pages"), self.fake.max_pages)
        return {
            "pages": pages,
            "model": body["model"],
            "document_annotation": None,
            "usage_info": {"pages_processed": len(pages), "doc_size_bytes": len(content)},
        }

    def _on_download(self, request: RecordedRequest, file_id: str) -> RawBody:
        stored = self.fake.files.get(file_id)
        if stored is None:
            raise ApiError(404, f"File {file_id} not found")
        return RawBody(stored.content)

    def _on_batch_create(self, request: RecordedRequest) -> dict[str, Any]:
        body = request.json or {}
        if body.get("endpoint") != "/v1/ocr":
            raise ApiError(422, f"The fake runs /v1/ocr batches only, not {body.get('endpoint')}")
        inputs = body.get("input_files") or []
        missing = [file_id for file_id in inputs if file_id not in self.fake.files]
        if not inputs or missing:
            raise ApiError(404, f"Input file not found: {missing[0] if missing else None}")
        job = BatchJob(
            id=str(uuid.uuid4()),
            input_files=list(inputs),
            model=body.get("model"),
            metadata=body.get("metadata"),
            created_at=int(time.time()),
            fails_with=self.fake.take_batch_failure(),
        )
        job.total_requests = sum(
            len(self.fake.files[file_id].content.splitlines()) for file_id in inputs
        )
        self.fake.batch_jobs[job.id] = job
        return _batch_object(job)

    def _on_batch_list(self, request: RecordedRequest) -> dict[str, Any]:
        jobs = sorted(self.fake.batch_jobs.values(), key=lambda job: job.created_at)
        if request.query.get("order_by", "-created") == "-created":
            jobs.reverse()
        after = request.query.get("created_after")
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00")).timestamp()
            jobs = [job for job in jobs if job.created_at >= int(since)]
        page, size = int(request.query.get("page", 0)), int(request.query.get("page_size", 100))
        return {
            "object": "list",
            "total": len(jobs),
            "data": [_batch_object(job) for job in jobs[page * size : (page + 1) * size]],
        }

    def _on_batch_get(self, request: RecordedRequest, job_id: str) -> dict[str, Any]:
        time.sleep(self.fake.look_latency_s)
        job = self.fake.batch_jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Batch job {job_id} not found")
        if job.status in ("QUEUED", "RUNNING"):
            job.looks += 1
            if self.fake.hold_batches or job.looks <= self.fake.batch_polls_before_end:
                job.status = "RUNNING"
            else:
                self._run_batch(job)
        return _batch_object(job)

    def _run_batch(self, job: BatchJob) -> None:
        """End the job: answer each of its requests as the OCR endpoint would."""
        if job.fails_with is not None:
            job.status, job.errors = "FAILED", [{"message": job.fails_with, "count": 1}]
            return
        outputs, failures = [], []
        for file_id in job.input_files:
            for line in self.fake.files[file_id].content.splitlines():
                if not line.strip():
                    continue
                entry = json.loads(line)
                custom_id = entry.get("custom_id")
                try:
                    if custom_id in self.fake.batch_request_errors:
                        raise ApiError(400, self.fake.batch_request_errors[custom_id])
                    answer = self._ocr({"model": job.model, **entry.get("body", {})})
                except ApiError as error:
                    failures.append(_batch_line(custom_id, error.status, _error_body(error)))
                else:
                    outputs.append(_batch_line(custom_id, 200, answer))
        job.output_file = self._store_output(job, "output", outputs)
        job.error_file = self._store_output(job, "error", failures) if failures else None
        job.succeeded_requests, job.failed_requests = len(outputs), len(failures)
        job.status = "SUCCESS"

    def _store_output(self, job: BatchJob, kind: str, lines: list[dict[str, Any]]) -> str:
        stored = StoredFile(
            id=str(uuid.uuid4()),
            filename=f"{job.id}_{kind}.jsonl",
            content=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
            purpose="batch_result" if kind == "output" else "batch_error",
            created_at=int(time.time()),
        )
        self.fake.files[stored.id] = stored
        return stored.id

    def _document_bytes(self, document: dict[str, Any]) -> bytes:
        kind = document.get("type")
        if kind == "file":
            stored = self.fake.files.get(document.get("file_id", ""))
            if stored is None:
                raise ApiError(404, "File not found")
            return stored.content
        url = document.get("document_url") if kind == "document_url" else document.get("image_url")
        if isinstance(url, dict):
            url = url.get("url")
        if not isinstance(url, str):
            raise ApiError(422, f"Unsupported document type: {kind!r}")
        if url.startswith("data:"):
            return _decode_data_url(url)
        return self.fake.file_behind(url).content

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _route(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return endpoint, match.groupdict()
    return None, {}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields by name; a file field becomes {"filename", "content_type", "content"}."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            form[name] = content.decode()
        else:
            form[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "content": content,
            }
    return form


def _file_object(stored: StoredFile) -> dict[str, Any]:
    return {
        "id": stored.id,
        "object": "file",
        "bytes": len(stored.content),
        "created_at": stored.created_at,
        "filename": stored.filename,
        "purpose": stored.purpose,
        "sample_type": "ocr_input",
        "source": "upload",
        "num_lines": None,
        "mimetype": None,
        "signature": None,
        "expires_at": None,
        "visibility": "workspace",
    }


def _batch_object(job: BatchJob) -> dict[str, Any]:
    ended = job.status not in ("QUEUED", "RUNNING")
    return {
        "id": job.id,
        "object": "batch",
        "input_files": job.input_files,
        "metadata": job.metadata,
        "endpoint": "/v1/ocr",
        "model": job.model,
        "output_file": job.output_file,
        "error_file": job.error_file,
        "errors": job.errors,
        "status": job.status,
        "created_at": job.created_at,
        "total_requests": job.total_requests,
        "completed_requests": job.succeeded_requests + job.failed_requests,
        "succeeded_requests": job.succeeded_requests,
        "failed_requests": job.failed_requests,
        "started_at": job.created_at if job.status != "QUEUED" else None,
        "completed_at": int(time.time()) if ended else None,
    }


def _batch_line(custom_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """One line of a batch job's output or error file."""
    error = None if status == 200 else {"message": body.get("message"), "code": status}
    return {
        "id": f"batch-{uuid.uuid4().hex[:12]}",
        "custom_id": custom_id,
        "response": {"status_code": status, "body": body},
        "error": error,
    }


def _decode_data_url(url: str) -> bytes:
    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        raise ApiError(400, "Only base64 data URLs are supported")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ApiError(400, "Invalid base64 in data URL") from None


def _render_pages(content: bytes, pages: Any, max_pages: int) -> list[dict[str, Any]]:
    if content.startswith(b"%PDF"):
        return _render_pdf(content, pages, max_pages)
    return [_render_image(content)]


def _render_pdf(content: bytes, pages: Any, max_pages: int) -> list[dict[str, Any]]:
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError as exc:
            if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
                raise ApiError(400, "Document is password protected") from None
            raise ApiError(400, "Invalid PDF document: could not be parsed") from None
        with document:
            if len(document) > max_pages:
                raise ApiError(
                    400,
                    f"Document has {len(document)} pages, which exceeds the maximum of "
                    f"{max_pages} pages",
                )
            indices = _page_indices(pages, len(document))
            return [_pdf_page(document, index) for index in indices]


def _pdf_page(document: pdfium.PdfDocument, index: int) -> dict[str, Any]:
    page = document[index]
    width, height = page.get_size()
    text = page.get_textpage().get_text_range().replace("\r\n", "\n").strip()
    return {
        "index": index,
        "markdown": f"# Page {index + 1}\n\n{text}".strip() + "\n",
        "images": [],
        "tables": [],
        "hyperlinks": [],
        "header": None,
        "footer": None,
        "dimensions": {
            "dpi": RENDER_DPI,
            "width": round(width * RENDER_DPI / 72),
            "height": round(height * RENDER_DPI / 72),
        },
    }


def _render_image(content: bytes) -> dict[str, Any]:
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError):
        raise ApiError(400, "Unsupported document: not a PDF or an image") from None
    return {
        "index": 0,
        "markdown": f"# Page 1\n\n{kind} image, {width}x{height} pixels\n",
        "images": [],
        "tables": [],
        "hyperlinks": [],
        "header": None,
        "footer": None,
        "dimensions": {"dpi": 72, "width": width, "height": height},
    }


def _page_indices(pages: Any, page_count: int) -> list[int]:
    """The API's `pages`: None, a list of 0-based ints, or a string such as "0,2-4"."""
    if pages is None:
        return list(range(page_count))
    if isinstance(pages, str):
        pages = [number for part in pages.split(",") for number in _expand(part.strip())]
    wrong = [index for index in pages if not 0 <= index < page_count]
    if wrong:
        raise ApiError(400, f"Page {wrong[0]} out of range: document has {page_count} pages")
    return list(pages)


def _expand(part: str) -> range:
    first, _, last = part.partition("-")
    try:
        return range(int(first), int(last or first) + 1)
    except ValueError:
        raise ApiError(422, f"Invalid pages value: {part!r}") from None


def _scripted_error(failure: ScriptedFailure) -> ApiError:
    headers = {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after}"}
    return ApiError(failure.status, failure.message, headers)


def _default_message(status: int) -> str:
    return {
        400: "Invalid document",
        401: "Unauthorized",
        429: "Requests rate limit exceeded",
    }.get(status, "Internal server error" if status >= 500 else f"Error {status}")


def _error_body(error: ApiError) -> dict[str, Any]:
    if error.status == 401:
        return {"message": error.message, "request_id": uuid.uuid4().hex}
    return {
        "object": "error",
        "message": error.message,
        "type": "invalid_request_error" if error.status < 500 else "internal_server_error",
        "param": None,
        "code": str(error.status),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Mistral OCR API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per OCR call")
    parser.add_argument("--api-key", default=None, help="accept only this bearer token")
    arguments = parser.parse_args()
    server = FakeMistralServer(arguments.host, arguments.port, arguments.latency, arguments.api_key)
    with server:
        print(f"fake Mistral API on {server.url} (latency {arguments.latency:g} s)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
