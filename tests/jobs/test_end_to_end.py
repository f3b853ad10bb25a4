"""A document's whole trip: API → queue → a real `runworkers` process → Markdown."""

import pytest

from tests.conftest import fixture_upload, wait_until
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def converted(api, name: str, **fields) -> str:
    response = api.post(
        "/v1/documents", {"file": fixture_upload(name), **fields}, format="multipart"
    )
    assert response.status_code == 202, response.content
    status_url = response.json()["statusUrl"]
    wait_until(lambda: api.get(status_url).json()["status"] == "completed", timeout=120)
    content = api.get(f"/v1/documents/{response.json()['id']}")
    assert content.status_code == 200
    return content.content.decode()


def test_a_corpus_pdf_comes_back_as_markdown(api, workers):
    workers(processes=1, concurrency=2)
    markdown = converted(api, "pdflatex-4-pages.pdf")
    assert "Hello, here is some text without a meaning" in markdown
    assert UsageRecord.objects.get().pages == 4


def test_a_scanned_pdf_is_read_through_ocr(api, workers):
    workers(processes=1, concurrency=1)
    markdown = converted(api, "phototest-scan.pdf")
    assert "This is a lot of 12 point text" in markdown


def test_an_image_is_read_through_ocr(api, workers):
    workers(processes=1, concurrency=1)
    assert "quick brown dog" in converted(api, "phototest.tif")


def test_an_encrypted_pdf_converts_with_its_password(api, workers):
    workers(processes=1, concurrency=1)
    markdown = converted(api, "password-example.pdf", password="test")
    assert markdown.strip()
