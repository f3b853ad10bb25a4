"""The Mistral engine, through the real `mistralai` SDK, against the fake Mistral server."""

from __future__ import annotations

import shutil
import socket
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from documents.engines.base import (
    ConversionError,
    ConversionOptions,
    EngineUnavailable,
    InvalidPageRange,
    PasswordRequired,
    UnreadableDocument,
    WrongPassword,
)
from documents.engines.mistral import MistralEngine
from fakes.long_documents import numbered_pdf, page_marker
from fakes.mistral_server import FakeMistralServer
from tests.conftest import FIXTURES

FOUR_PAGES = FIXTURES / "pdflatex-4-pages.pdf"
ENCRYPTED = FIXTURES / "password-example.pdf"
API_KEY = "sk-test-0123456789abcdef"
PDF = "application/pdf"
ALL_PAGES = ConversionOptions()


@pytest.fixture
def server():
    with FakeMistralServer() as fake:
        yield fake


@pytest.fixture
def engine(server):
    return MistralEngine(API_KEY, model="mistral-ocr-test", server_url=server.url, timeout_s=5)


def test_it_converts_every_page_of_a_pdf(engine, server):
    result = engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert [page.index for page in result.pages] == [0, 1, 2, 3]
    assert result.pages[0].markdown.startswith("# Page 1\n")
    assert "Hello, here is some text without a meaning." in result.pages[0].markdown
    assert result.model == "mistral-ocr-test"
    assert result.pages_processed == 4
    assert result.input_tokens is None and result.output_tokens is None
    (request,) = server.requests_to("ocr")
    assert request.json["model"] == "mistral-ocr-test"
    assert request.bearer_token == API_KEY


def test_it_sends_small_documents_inline_as_a_data_url(engine, server):
    engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert [request.endpoint for request in server.requests] == ["ocr"]
    document = server.requests_to("ocr")[0].json["document"]
    assert document["type"] == "document_url"
    assert document["document_url"].startswith("data:application/pdf;base64,")


def test_it_uploads_large_documents_and_deletes_them_afterwards(engine, server):
    engine.inline_limit_bytes = 0

    result = engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert result.pages_processed == 4
    assert [request.endpoint for request in server.requests] == [
        "upload",
        "signed_url",
        "ocr",
        "delete",
    ]
    upload = server.requests_to("upload")[0].form
    assert upload["purpose"] == "ocr"
    assert upload["file"]["content"] == FOUR_PAGES.read_bytes()
    assert server.files == {}


def test_it_deletes_the_upload_even_when_ocr_fails(engine, server):
    engine.inline_limit_bytes = 0
    server.fail_next(status=503)

    with pytest.raises(EngineUnavailable):
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert server.requests_to("delete")
    assert server.files == {}


def test_it_sends_an_image_as_an_image_url(engine, server):
    result = engine.convert(FIXTURES / "hebrew.png", "image/png", ALL_PAGES)

    assert result.markdown == "# Page 1\n\nPNG image, 564x243 pixels"
    document = server.requests_to("ocr")[0].json["document"]
    assert document["type"] == "image_url"
    assert document["image_url"].startswith("data:image/png;base64,")


def test_it_asks_for_the_selected_pages_counting_from_zero(engine, server):
    result = engine.convert(FOUR_PAGES, PDF, ConversionOptions(pages=(2, 4)))

    assert server.requests_to("ocr")[0].json["pages"] == [1, 3]
    assert [page.index for page in result.pages] == [1, 3]
    assert result.pages[1].markdown.startswith("# Page 4\n")


def test_it_refuses_pages_past_the_end_without_calling_the_api(engine, server):
    with pytest.raises(InvalidPageRange, match="page 5 does not exist"):
        engine.convert(FOUR_PAGES, PDF, ConversionOptions(pages=(1, 5)))

    assert server.requests == []


def test_it_honours_retry_after_on_429(engine, server):
    server.fail_next(status=429, retry_after=2)

    with pytest.raises(EngineUnavailable) as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert caught.value.retry_after == 2
    assert caught.value.kind == "rate_limit"
    assert len(server.requests_to("ocr")) == 1, "the SDK must not retry on its own"


def test_it_reads_retry_after_given_as_an_http_date(engine, server):
    server.fail_next(status=429, retry_after=format_datetime(_in(seconds=30), usegmt=True))

    with pytest.raises(EngineUnavailable) as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert 20 < caught.value.retry_after <= 30


def test_a_server_error_is_retryable_and_the_next_call_succeeds(engine, server):
    server.fail_next(status=500)

    with pytest.raises(EngineUnavailable) as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)
    result = engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert (caught.value.retry_after, caught.value.kind) == (None, "server")
    assert len(server.requests_to("ocr")) == 2
    assert result.pages_processed == 4


def test_a_rejected_document_is_a_permanent_error_with_the_servers_message(engine, server):
    server.fail_next(status=400, message="Document format not supported")

    with pytest.raises(UnreadableDocument, match="Document format not supported"):
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)


def test_a_pdf_the_api_cannot_parse_is_unreadable(engine, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(FOUR_PAGES.read_bytes()[:500])

    with pytest.raises(UnreadableDocument, match="could not be parsed"):
        engine.convert(broken, PDF, ALL_PAGES)


def test_a_refused_api_key_is_a_permanent_configuration_error():
    with FakeMistralServer(api_key="the-right-key") as strict:
        engine = MistralEngine(API_KEY, server_url=strict.url)

        with pytest.raises(ConversionError, match="MISTRAL_API_KEY") as caught:
            engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert caught.value.code == "engine_authentication_failed"


def test_a_server_slower_than_the_timeout_is_retryable(server):
    server.latency_s = 1.0
    engine = MistralEngine(API_KEY, server_url=server.url, timeout_s=0.2)

    with pytest.raises(EngineUnavailable, match="did not answer within 0.2 s") as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert caught.value.kind == "timeout"


def test_an_unreachable_server_is_retryable():
    engine = MistralEngine(API_KEY, server_url=f"http://127.0.0.1:{_closed_port()}")

    with pytest.raises(EngineUnavailable, match="could not reach Mistral OCR") as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert caught.value.kind == "connection"


def test_it_decrypts_a_password_protected_pdf_and_removes_the_copy(engine, server, tmp_path):
    original = _copy(ENCRYPTED, tmp_path)

    result = engine.convert(original, PDF, ConversionOptions(password="test"))

    assert result.pages_processed == 4
    assert "Backup4all" in result.pages[0].markdown
    assert list(tmp_path.iterdir()) == [original]


def test_it_removes_the_decrypted_copy_when_the_call_fails(engine, server, tmp_path):
    original = _copy(ENCRYPTED, tmp_path)
    server.fail_next(status=500)

    with pytest.raises(EngineUnavailable):
        engine.convert(original, PDF, ConversionOptions(password="test"))

    assert list(tmp_path.iterdir()) == [original]


@pytest.mark.parametrize(
    ("password", "error"), [(None, PasswordRequired), ("wrong", WrongPassword)]
)
def test_an_encrypted_pdf_needs_the_right_password(engine, server, tmp_path, password, error):
    original = _copy(ENCRYPTED, tmp_path)

    with pytest.raises(error):
        engine.convert(original, PDF, ConversionOptions(password=password))

    assert server.requests == []
    assert list(tmp_path.iterdir()) == [original]


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 429, "retry_after": 1},
        {"status": 500},
        {"status": 400, "message": f"invalid key {API_KEY} in request"},
        {"status": 401},
        {"status": 404},
    ],
)
def test_the_api_key_never_appears_in_error_messages(engine, server, failure):
    server.fail_next(**failure)

    with pytest.raises((ConversionError, EngineUnavailable)) as caught:
        engine.convert(FOUR_PAGES, PDF, ALL_PAGES)

    assert API_KEY not in "".join(traceback.format_exception(caught.value))
    assert API_KEY not in repr(engine)


def _in(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _copy(source: Path, directory: Path) -> Path:
    return Path(shutil.copy(source, directory / source.name))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The API's limits: 1,000 pages and 50 MB a request ------------------------------------------


def long_pdf(tmp_path: Path, pages: int, padding: int = 0) -> Path:
    path = tmp_path / "long.pdf"
    path.write_bytes(numbered_pdf(pages, padding=padding))
    return path


def in_order(result, numbers) -> bool:
    """Every page of `numbers` (1-based) came back as itself, in that order."""
    return [page.index for page in result.pages] == [n - 1 for n in numbers] and all(
        page_marker(n) in page.markdown for page, n in zip(result.pages, numbers, strict=True)
    )


def test_the_fake_refuses_a_document_of_more_than_1000_pages_as_the_api_does(
    engine, server, tmp_path
):
    engine.request_page_limit = 10_000  # an engine that would send it whole
    with pytest.raises(UnreadableDocument, match="1001 pages, which exceeds the maximum of 1000"):
        engine.convert(long_pdf(tmp_path, 1001), PDF, ConversionOptions(pages=(1, 2)))


def test_the_fake_refuses_a_request_of_more_than_its_bytes_as_the_api_does(
    engine, server, tmp_path
):
    server.max_bytes = 100_000
    with pytest.raises(UnreadableDocument, match="exceeds the maximum of 100000 bytes"):
        engine.convert(long_pdf(tmp_path, 4, padding=40_000), PDF, ALL_PAGES)


def test_a_pdf_of_1200_pages_is_sent_in_requests_of_at_most_1000(engine, server, tmp_path):
    result = engine.convert(long_pdf(tmp_path, 1200), PDF, ALL_PAGES)
    assert in_order(result, range(1, 1201))
    assert [len(request.json.get("pages") or []) for request in server.requests_to("ocr")] == [
        0,
        0,
    ], "each piece is a PDF of its own pages, read whole"


def test_a_pdf_past_the_byte_limit_is_sent_in_pieces_within_it(engine, server, tmp_path):
    server.max_bytes = engine.request_byte_limit = 300_000
    path = long_pdf(tmp_path, 12, padding=60_000)  # about 720 KB
    result = engine.convert(path, PDF, ALL_PAGES)
    assert in_order(result, range(1, 13))
    assert len(server.requests_to("ocr")) >= 2, "the fake took every one"
    chosen = engine.convert(path, PDF, ConversionOptions(pages=(2, 3, 11)))
    assert in_order(chosen, (2, 3, 11))


def test_a_page_past_the_byte_limit_alone_cannot_be_sent(engine, server, tmp_path):
    engine.request_byte_limit = 50_000
    with pytest.raises(UnreadableDocument, match="page 1 alone is"):
        engine.convert(long_pdf(tmp_path, 2, padding=120_000), PDF, ALL_PAGES)
    assert server.requests_to("ocr") == []
