"""Many clients at once while workers write: every request succeeds, nothing is lost."""

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from documents.models import Document
from tests.conftest import FIXTURES, wait_until
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENTS = 8
SUBMISSIONS = 80


def post_file(url: str, name: str, content: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def test_concurrent_submissions_while_workers_complete_jobs(live_server, workers):
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    workers(processes=2, concurrency=4)
    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = list(
            clients.map(
                lambda i: post_file(f"{live_server.url}/v1/documents", f"doc-{i}.pdf", pdf),
                range(SUBMISSIONS),
            )
        )
    assert [status for status, _ in answers] == [202] * SUBMISSIONS
    wait_until(
        lambda: Document.objects.filter(status="completed").count() == SUBMISSIONS, timeout=120
    )
    assert UsageRecord.objects.count() == SUBMISSIONS
