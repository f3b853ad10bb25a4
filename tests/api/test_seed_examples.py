"""The curl examples of the original service's README, run with curl against a live server
and real workers, with and without API_KEY (an open server given the examples' placeholder key):
existing clients keep working."""

import json
import shutil
import subprocess

import pytest

from tests.conftest import FIXTURES, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl"),
]

API_KEY = "seed-example-key"


@pytest.fixture(params=["open", "API_KEY"])
def server(request, live_server, settings, workers, tmp_path):
    """The live server, its workers, and `curl(*args)` as the README's examples run it."""
    settings.API_KEY = API_KEY if request.param == "API_KEY" else ""
    workers(processes=1, concurrency=2)
    # The README's examples send a key whether or not one is configured; an open server
    # ignores it.
    auth_args = ["-H", f"Authorization: Bearer {API_KEY if settings.API_KEY else 'your_api_key'}"]

    def curl(*args, authorised=True) -> bytes:
        command = ["curl", "-sS", "--fail-with-body", *(auth_args if authorised else []), *args]
        return subprocess.run(
            command, cwd=tmp_path, check=True, capture_output=True, timeout=120
        ).stdout

    for name in ("minimal-document.pdf", "pdflatex-4-pages.pdf"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    curl.url = live_server.url
    curl.keyed = bool(settings.API_KEY)
    curl.dir = tmp_path
    return curl


def test_immediate_conversion_answers_markdown_and_json(server):
    markdown = server(
        "-X", "POST", f"{server.url}/v1/convert", "-F", "file=@minimal-document.pdf"
    ).decode()
    assert "Lorem ipsum dolor sit amet" in markdown
    body = json.loads(
        server(
            "-X",
            "POST",
            f"{server.url}/v1/convert",
            "-F",
            "file=@pdflatex-4-pages.pdf",
            "-F",
            "format=json",
        )
    )
    assert {"id", "content", "metadata", "usage", "downloadUrl"} <= set(body)
    assert {
        "model",
        "extractedPages",
        "processingTimeMs",
        "fileName",
        "fileSize",
        "mimeType",
    } <= set(body["metadata"])
    assert {"prompt_tokens", "completion_tokens", "total_tokens"} <= set(body["usage"])
    assert body["metadata"]["extractedPages"] == 4
    saved = server(f"{server.url}{body['downloadUrl']}").decode()
    assert saved == body["content"]


def test_batch_submit_status_and_jsonl_download(server):
    submitted = json.loads(
        server(
            "-X",
            "POST",
            f"{server.url}/v1/batch/submit",
            "-F",
            "files=@minimal-document.pdf",
            "-F",
            "files=@pdflatex-4-pages.pdf",
            "-F",
            "files=@minimal-document.pdf",
            "-F",
            "priority=8",
            "-F",
            "retentionDays=365",
        )
    )
    assert submitted["totalDocuments"] == 3
    assert [set(d) >= {"id", "fileName", "fileSize", "status"} for d in submitted["documents"]]
    status_url = f"{server.url}{submitted['statusUrl']}"

    def done():
        status = json.loads(server(status_url))
        assert set(status["progress"]) >= {"total", "pending", "processing", "completed", "failed"}
        return status if status["status"] == "completed" else None

    status = wait_until(done, timeout=120, interval=0.2)
    assert status["progress"]["completed"] == 3
    server(f"{server.url}{status['downloadUrl']}?format=jsonl", "-o", "batch-results.jsonl")
    lines = (server.dir / "batch-results.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [d["id"] for d in submitted["documents"]]
    assert [d["fileName"] for d in submitted["documents"]] == [
        "minimal-document.pdf",
        "pdflatex-4-pages.pdf",
        "minimal-document.pdf",
    ], "in upload order"


def test_legacy_submit_status_download_and_original(server):
    submitted = json.loads(
        server(
            "-X",
            "POST",
            f"{server.url}/api/documents/submit",
            "-F",
            "file=@pdflatex-4-pages.pdf",
            "-F",
            "retentionDays=365",
        )
    )
    assert {"id", "status", "fileName", "fileSize", "retentionDays", "createdAt"} <= set(submitted)
    document = f"{server.url}/api/documents/{submitted['id']}"
    wait_until(
        lambda: (
            json.loads(server(f"{server.url}/api/documents/status/{submitted['id']}"))["status"]
            == "completed"
        ),
        timeout=120,
    )
    status = json.loads(server(f"{server.url}/api/documents/status/{submitted['id']}"))
    assert status["metadata"]["extractedPages"] == status["metadata"]["pages"] == 4
    assert "Hello, here is some text" in server(document).decode()
    assert json.loads(server(f"{document}?format=json"))["content"]
    server(f"{document}/original", "-o", "original_document.pdf")
    assert (server.dir / "original_document.pdf").read_bytes() == (
        FIXTURES / "pdflatex-4-pages.pdf"
    ).read_bytes()


def test_usage_summary_and_breakdown(server):
    server("-X", "POST", f"{server.url}/v1/convert", "-F", "file=@pdflatex-4-pages.pdf")
    summary = json.loads(
        server(
            f"{server.url}/api/usage/summary?startDate=2024-01-01T00:00:00Z"
            "&endDate=2099-12-31T23:59:59Z"
        )
    )
    assert {
        "totalDocuments",
        "totalOperations",
        "totalInputTokens",
        "totalOutputTokens",
        "totalCostCents",
    } <= set(summary)
    assert summary["totalDocuments"] == 1
    breakdown = json.loads(server(f"{server.url}/api/usage/breakdown"))
    assert breakdown["byOperation"][0]["totalPages"] == 4


def test_a_key_is_required_exactly_when_api_key_is_set(server):
    without = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{server.url}/v1/documents"],
        capture_output=True,
        text=True,
    )
    assert without.stdout == ("401" if server.keyed else "200")
    if server.keyed:
        query = server(f"{server.url}/v1/documents?apiKey={API_KEY}", authorised=False)
        assert json.loads(query)["count"] == 0
    health = json.loads(server(f"{server.url}/health", authorised=False))
    assert health["status"] == "healthy"
    assert health["services"]["database"] == "connected"
    assert health["services"]["s3"] == "not configured"  # "configured" with S3_BUCKET
