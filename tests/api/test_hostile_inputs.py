"""No input a client can send produces a 5xx (README, Errors): tables of hostile requests over
every endpoint that takes input, each with the clear answer it must get. `make test` runs them
on SQLite and on PostgreSQL, where a NUL byte cannot even be stored.

Hostile files are generated (`fakes.hostile`): a 50000 x 50000 PNG is 300 KB, a page a billion
points wide 500 bytes. A file past a cap is refused at submit with a 413 whose code names the cap
and whose details name the setting; nothing is stored, and no temp file is left behind (the
autouse `_clean_temp_dir` fixture checks that after every test).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.models import Document
from fakes import hostile
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

ACCEPTED = 0  # the endpoint's success: 200 from /v1/convert, 202 from the queueing ones
CAPS = {"MAX_IMAGE_PIXELS", "MAX_PAGE_SIDE", "MAX_PAGES"}
MINIMAL = "minimal-document.pdf"


@functools.cache
def content_of(source: str) -> bytes:
    """A fixture's bytes, or a hostile file generated once per run (the largest take a second)."""
    if (FIXTURES / source).is_file():
        return (FIXTURES / source).read_bytes()
    return {
        "png-12000": lambda: hostile.png_of_size(12_000, 12_000, bits=8),
        "png-50000": lambda: hostile.png_of_size(50_000, 50_000),
        "png-header-2^31": lambda: hostile.png_header_only(2**31 - 1, 2**31 - 1),
        "pdf-3000pt": lambda: hostile.pdf_with_page(3000, 3000),
        "pdf-14400pt": lambda: hostile.pdf_with_page(14_400, 14_400),
        "pdf-1e9pt": lambda: hostile.pdf_with_page(1e9, 1e9),
        "pdf-sliver": lambda: hostile.pdf_with_page(14_400, 1),
        "pdf-10001-pages": lambda: hostile.pdf_with_page(
            612, 792, "A line of text on every page", pages=10_001
        ),
        "tiff-3-frames": lambda: hostile.tiff_of_words(["FIRST", "SECOND", "THIRD"]),
        "zip-bomb": lambda: hostile.zip_bomb(64),
        "text": lambda: b"just some text, not a PDF\n" * 40,
    }[source]()


@dataclass(frozen=True)
class FileCase:
    """A file (and fields) sent to every endpoint that takes one, and the answer it must get.

    A batch answers 202 whatever its files, with a file that the other endpoints refuse as a
    failed document of the batch; only a refusal of the request's own fields (`fields_refused`)
    refuses the whole batch.
    """

    name: str
    file_name: str
    source: str
    status: int
    code: str | None = None
    fields: dict = field(default_factory=dict)
    fields_refused: bool = False

    def upload(self) -> SimpleUploadedFile:
        return SimpleUploadedFile(self.file_name, content_of(self.source))


def refused_fields(name: str, status: int, code: str, **fields) -> FileCase:
    return FileCase(name, "d.pdf", MINIMAL, status, code, fields, fields_refused=True)


FILE_CASES = [
    # Past a cap, known at submit from the header or the page tree: 413 naming the cap.
    FileCase("png-12000x12000", "blank.png", "png-12000", 413, "image_too_large"),
    FileCase("png-50000x50000", "bomb.png", "png-50000", 413, "image_too_large"),
    FileCase("png-header-2^31-a-side", "huge.png", "png-header-2^31", 413, "image_too_large"),
    FileCase("pdf-page-1e9-points", "wide.pdf", "pdf-1e9pt", 413, "page_too_large"),
    FileCase("pdf-10001-pages", "long.pdf", "pdf-10001-pages", 413, "too_many_pages"),
    # Huge but allowed: rendered at a resolution that fits the budget, and converted.
    FileCase("pdf-page-3000-points", "big.pdf", "pdf-3000pt", ACCEPTED),
    FileCase("pdf-page-14400-points", "largest.pdf", "pdf-14400pt", ACCEPTED),
    FileCase("pdf-page-a-sliver", "sliver.pdf", "pdf-sliver", ACCEPTED),
    FileCase(
        "pdf-10001-pages-2-asked", "l.pdf", "pdf-10001-pages", ACCEPTED, fields={"pages": "2-3"}
    ),
    FileCase("tiff-frame-2-of-3", "frames.tif", "tiff-3-frames", ACCEPTED, fields={"pages": "2"}),
    FileCase(
        "tiff-frame-4-of-3", "t.tif", "tiff-3-frames", 400, "invalid_page_range", {"pages": "4"}
    ),
    # Page ranges, counted before they are expanded.
    refused_fields(
        "pages-999-characters-of-ranges",
        413,
        "too_many_pages",
        pages=",".join(f"{i * 10**7 + 1}-{(i + 1) * 10**7}" for i in range(50)),
    ),
    refused_fields("pages-a-million", 413, "too_many_pages", pages="1-1000000"),
    refused_fields("pages-1001-characters", 400, "invalid_request", pages="1," * 500 + "1"),
    refused_fields("pages-with-nul", 400, "invalid_request", pages="1\x00"),
    FileCase(
        "pages-a-20-digit-number",
        "d.pdf",
        MINIMAL,
        400,
        "invalid_page_range",
        {"pages": "99999999999999999999"},
    ),
    # Oversized and malformed fields.
    refused_fields("password-too-long", 400, "invalid_request", password="p" * 1001),
    refused_fields(
        "retention-overflow", 400, "invalid_request", retentionDays="99999999999999999999"
    ),
    refused_fields("engine-with-nul", 400, "invalid_request", engine="local\x00"),
    # What passed before the caps came: it must stay passing.
    FileCase("empty-file", "empty.pdf", "empty.pdf", 400, "empty_file"),
    FileCase("text-named-pdf", "notes.pdf", "text", 415, "unsupported_media_type"),
    FileCase("truncated-pdf", "t.pdf", "truncated-nics.pdf", 422, "unreadable_document"),
    FileCase("corrupt-pdf", "c.pdf", "unreadablemetadata.pdf", 422, "unreadable_document"),
    FileCase("encrypted-pdf", "e.pdf", "password-example.pdf", 400, "password_required"),
    FileCase("zip-bomb", "bomb.zip", "zip-bomb", 415, "unsupported_media_type"),
    FileCase("zip-bomb-named-pdf", "bomb.pdf", "zip-bomb", 415, "unsupported_media_type"),
    FileCase("name-with-dot-dot-slash", "../../../etc/passwd.pdf", MINIMAL, ACCEPTED),
    FileCase("name-with-nul", "evil\x00.pdf", MINIMAL, ACCEPTED),
    FileCase("name-with-rtl-override", "invoice\u202efdp.exe", MINIMAL, ACCEPTED),
    FileCase("name-with-control-characters", "a\x01b\x7f.pdf", MINIMAL, ACCEPTED),
    FileCase("name-with-line-break", "a\r\nX-Injected: 1.pdf", MINIMAL, ACCEPTED),
    FileCase("name-with-quotes", 'a";b=".pdf', MINIMAL, ACCEPTED),
    FileCase("name-5000-characters", "x" * 5000 + ".pdf", MINIMAL, ACCEPTED),
]


@pytest.mark.parametrize("endpoint", ["/v1/convert", "/v1/documents", "/api/documents/submit"])
@pytest.mark.parametrize("case", FILE_CASES, ids=lambda case: case.name)
def test_a_hostile_file_gets_a_clear_answer_from_every_endpoint(api, endpoint, case):
    response = api.post(endpoint, {"file": case.upload(), **case.fields}, format="multipart")

    if case.status == ACCEPTED:
        assert response.status_code == (200 if endpoint == "/v1/convert" else 202), (
            response.content[:500]
        )
        document = Document.objects.get()
        assert "\x00" not in document.file_name and "/" not in document.file_name
        original = api.get(f"/v1/documents/{document.id}/original")
        assert original.status_code == 200
        assert "X-Injected" not in original.headers
        return
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (case.status, case.code), error
    if case.status == 413:
        assert error["details"]["setting"] in CAPS
        assert error["details"]["setting"] in error["message"]
    assert not Document.objects.exists()


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda case: case.name)
def test_a_hostile_file_in_a_batch_fails_alone(api, case):
    good = SimpleUploadedFile("ok.pdf", content_of(MINIMAL))
    response = api.post(
        "/v1/batch/submit",
        {"files": [case.upload(), good], **case.fields},
        format="multipart",
    )

    if case.fields_refused:
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (case.status, case.code), error
        assert not Document.objects.exists()
        return
    assert response.status_code == 202, response.content[:500]
    [hostile_document] = [d for d in response.json()["documents"] if d["fileName"] != "ok.pdf"]
    [good_document] = [d for d in response.json()["documents"] if d["fileName"] == "ok.pdf"]
    if not case.fields:  # a page range asked of both files may not suit the good one
        assert good_document["status"] == "pending"
    if case.status == ACCEPTED:
        assert hostile_document["status"] == "pending"
    else:
        assert hostile_document["status"] == "failed"
        assert hostile_document["error"]


@dataclass(frozen=True)
class RequestCase:
    name: str
    method: str
    path: str
    status: int
    code: str


NUL = "%00"
ID_PATHS = [
    ("get", "/v1/documents/{}/status"),
    ("get", "/v1/documents/{}"),
    ("delete", "/v1/documents/{}"),
    ("get", "/v1/documents/{}/original"),
    ("get", "/api/documents/status/{}"),
    ("get", "/api/documents/{}"),
    ("get", "/api/documents/{}/original"),
    ("get", "/v1/batch/status/{}"),
    ("get", "/v1/batch/download/{}"),
    ("delete", "/v1/batch/{}"),
]
REQUEST_CASES = [
    *(
        RequestCase(f"{method}-{path.format(label)}", method, path.format(bad_id), 404, "not_found")
        for method, path in ID_PATHS
        for label, bad_id in [("nul", f"abc{NUL}"), ("nul-only", NUL), ("long", "x" * 5000)]
    ),
    RequestCase(
        "limit-20-digits", "get", "/v1/documents?limit=99999999999999999999", 400, "invalid_request"
    ),
    RequestCase("limit-a-million", "get", "/v1/documents?limit=1000000", 400, "invalid_request"),
    RequestCase("limit-zero", "get", "/v1/documents?limit=0", 400, "invalid_request"),
    RequestCase("limit-negative", "get", "/v1/documents?limit=-5", 400, "invalid_request"),
    RequestCase("limit-not-a-number", "get", "/v1/documents?limit=ten", 400, "invalid_request"),
    RequestCase(
        "offset-20-digits",
        "get",
        "/v1/documents?offset=99999999999999999999",
        400,
        "invalid_request",
    ),
    RequestCase("offset-negative", "get", "/v1/documents?offset=-1", 400, "invalid_request"),
    RequestCase("offset-largest", "get", f"/v1/documents?offset={2**63 - 1}&limit=1000", 200, ""),
    RequestCase("status-with-nul", "get", f"/v1/documents?status=a{NUL}b", 400, "invalid_request"),
    RequestCase("status-unknown", "get", "/v1/documents?status=lost", 400, "invalid_request"),
    RequestCase(
        "batch-id-with-nul", "get", f"/v1/documents?batchId=abc{NUL}", 400, "invalid_request"
    ),
    RequestCase(
        "format-with-nul", "get", f"/v1/batch/download/x?format=zip{NUL}", 404, "not_found"
    ),
    RequestCase(
        "usage-date-with-nul", "get", f"/v1/usage/summary?startDate=2026{NUL}", 400, "invalid_date"
    ),
    RequestCase(
        "usage-date-year-99999",
        "get",
        "/v1/usage/summary?startDate=99999-01-01",
        400,
        "invalid_date",
    ),
    RequestCase("usage-last-day-of-9999", "get", "/v1/usage/breakdown?endDate=9999-12-31", 200, ""),
    RequestCase("usage-first-day-of-1", "get", "/api/usage/summary?startDate=0001-01-01", 200, ""),
    RequestCase("api-key-with-nul", "get", f"/v1/documents?apiKey=k{NUL}", 200, ""),  # open
]


@pytest.mark.parametrize("case", REQUEST_CASES, ids=lambda case: case.name)
def test_a_hostile_path_or_query_gets_a_clear_answer(api, case):
    response = getattr(api, case.method)(case.path)

    assert response.status_code == case.status, response.content[:500]
    if case.status >= 400:
        assert response.json()["error"]["code"] == case.code


@dataclass(frozen=True)
class RawCase:
    name: str
    body: bytes
    content_type: str
    status: int
    code: str


BOUNDARY = "hostile"


def multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    return b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts) + (
        b"--" + boundary.encode() + b"--\r\n"
    )


def file_part(name: str = "file", file_name: str = "a.pdf", content: bytes = b"%PDF-1.4") -> bytes:
    return (
        f'Content-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + content


def field_part(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
RAW_CASES = [
    RawCase("no-boundary", b"--x\r\n\r\n", "multipart/form-data", 400, "parse_error"),
    RawCase(
        "wrong-boundary",
        multipart(file_part(), boundary="other"),
        MULTIPART,
        400,
        "invalid_request",
    ),
    RawCase("unterminated", multipart(file_part())[:-20], MULTIPART, 400, "invalid_request"),
    RawCase("garbage", b"\x00\xff" * 500, MULTIPART, 400, "invalid_request"),
    RawCase(
        "headers-without-blank-line",
        b"--hostile\r\nContent-Disposition: form-data",
        MULTIPART,
        400,
        "invalid_request",
    ),
    RawCase(
        "field-of-3-MB",
        multipart(field_part("pages", b"1" * 3 * 2**20)),
        MULTIPART,
        413,
        "request_too_large",
    ),
    RawCase(
        "1001-fields",
        multipart(*(field_part(f"f{i}", b"1") for i in range(1001))),
        MULTIPART,
        400,
        "bad_request",
    ),
    RawCase("json-instead", b'{"file": "x"}', "application/json", 400, "invalid_request"),
    RawCase("unsupported-content-type", b"file=x", "text/plain", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("endpoint", ["/v1/convert", "/v1/documents", "/v1/batch/submit"])
@pytest.mark.parametrize("case", RAW_CASES, ids=lambda case: case.name)
def test_a_malformed_request_body_is_a_clear_4xx(api, endpoint, case):
    response = api.generic("POST", endpoint, case.body, content_type=case.content_type)

    assert response.status_code == case.status, response.content[:500]
    assert response.json()["error"]["code"] == case.code
    assert not Document.objects.exists()


def test_more_files_than_a_request_may_carry_is_a_400_and_leaves_no_temp_file(api):
    parts = [file_part("files", f"{i}.pdf", b"%PDF-1.4 tiny") for i in range(1001)]
    response = api.generic("POST", "/v1/batch/submit", multipart(*parts), content_type=MULTIPART)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert not Document.objects.exists()
