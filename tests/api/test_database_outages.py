"""The API through a PostgreSQL outage, served by gunicorn as in production (threads keeping
their connections between requests): dropped connections are replaced unseen, and while the
database is really down every request gets 503 `database_unavailable` with Retry-After."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import urllib3
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from documents.models import Document
from tests.conftest import padded_pdf
from tests.disks import files_under
from tests.outages import (
    database_down,
    drop_connections,
    requires_postgresql,
    terminate_connections,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, requires_postgresql]

THREADS = 4
http = urllib3.PoolManager(maxsize=16, retries=False, timeout=30)


def submit(url: str) -> urllib3.BaseHTTPResponse:
    return http.request(
        "POST",
        f"{url}/v1/documents",
        fields={"file": ("a.pdf", padded_pdf(2000), "application/pdf")},
    )


def submit_many(url: str, count: int) -> list[int]:
    with ThreadPoolExecutor(THREADS * 2) as pool:
        return sorted(response.status for response in pool.map(submit, [url] * count))


def test_dropped_connections_are_replaced_and_only_a_real_outage_is_a_503(api_server):
    url = api_server(WEB_THREADS=THREADS).url
    assert submit_many(url, 2 * THREADS) == [202] * (2 * THREADS)  # every thread connected

    assert drop_connections() >= 1
    assert submit_many(url, 40) == [202] * 40

    originals = Path(default_storage.path("originals"))
    stored = files_under(originals)
    with database_down():
        refused = submit(url)
        health = http.request("GET", f"{url}/health")
        status = http.request("GET", f"{url}/v1/documents/{Document().id}/status")
    assert refused.status == 503
    assert refused.json()["error"]["code"] == "database_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert health.status == 503 and health.json()["services"]["database"] == "unreachable"
    assert status.status == 503
    assert files_under(originals) == stored, "the refused upload's original was kept"

    assert submit_many(url, 8) == [202] * 8
    assert Document.objects.count() == 2 * THREADS + 40 + 8


def test_a_submission_whose_wake_up_fails_after_the_commit_is_still_accepted(api, monkeypatch):
    """The database drops the connection between the commit and the NOTIFY: the document is
    stored and queued, so the answer is 202, not an error a client would retry into a second
    document."""
    from jobs import db

    notify = db.notify

    def notify_on_a_dropped_connection():
        terminate_connections()
        notify()

    monkeypatch.setattr(db, "notify", notify_on_a_dropped_connection)
    upload = SimpleUploadedFile("a.pdf", padded_pdf(2000))
    response = api.post("/v1/documents", {"file": upload}, format="multipart")

    assert response.status_code == 202, response.content
    connection.close()  # the dropped one, as the end of a request would (the test client does not)
    assert list(Document.objects.values_list("id", "status")) == [
        (response.json()["id"], "pending")
    ]
