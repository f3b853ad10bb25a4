"""POST /v1/convert: synchronous conversion, stored and billed like any other."""

import pytest

from documents.models import Document
from jobs.models import Job
from tests.conftest import fixture_upload
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


def convert(api, name="minimal-document.pdf", **fields):
    return api.post("/v1/convert", {"file": fixture_upload(name), **fields}, format="multipart")


def test_it_answers_markdown_with_the_documented_headers(api):
    response = convert(api)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert "Lorem ipsum dolor sit amet" in response.content.decode()
    assert response["X-Extracted-Pages"] == "1"
    assert int(response["X-Processing-Time-Ms"]) >= 0
    document = Document.objects.get(id=response["X-Document-Id"])
    assert document.status == "completed"
    assert not Job.objects.exists(), "sync conversion does not go through the queue"


def test_it_answers_json_and_the_document_is_kept(api):
    body = convert(api, "pdflatex-4-pages.pdf", format="json", pages="2-3").json()
    assert set(body) == {"id", "content", "metadata", "usage", "downloadUrl"}
    assert body["metadata"]["extractedPages"] == 2
    assert body["metadata"]["mimeType"] == "application/pdf"
    assert body["usage"]["pages"] == 2
    later = api.get(body["downloadUrl"])
    assert later.status_code == 200
    assert later.content.decode() == body["content"]
    record = UsageRecord.objects.get(document_id=body["id"])
    assert (record.operation, record.pages) == ("sync_convert", 2)


def test_an_image_is_read_through_ocr(api):
    response = convert(api, "phototest.tif")
    assert response.status_code == 200
    assert "quick brown dog" in response.content.decode()


def test_an_unreadable_document_is_a_422_and_nothing_is_stored(api):
    response = convert(api, "truncated-nics.pdf")
    assert response.status_code == 422
    assert "truncated" in response.json()["error"]["message"]
    assert not Document.objects.exists()


def test_an_unconfigured_engine_is_a_400(api):
    response = convert(api, engine="mistral")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_engine"
