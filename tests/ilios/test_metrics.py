"""`GET /metrics` (ilios/metrics.py, ilios/health.py): Prometheus' text format, added up over
every gunicorn worker and `runworkers` process, read with prometheus_client's own parser, and
behind METRICS_TOKEN when one is set."""

import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import WEBHOOK_SECRET, fixture_upload, wait_until

TOKEN = "scrape-token-0123456789"
HOOKS = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}


@pytest.fixture
def key_a(db) -> str:
    from ilios.models import ApiKey

    return ApiKey.generate("team A")[1]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample, keyed by its name and labels, as Prometheus' parser reads the text."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, frozenset(labels.items())))


def added(before: dict, after: dict, name: str, **labels) -> float:
    """How much a counter grew between two scrapes (this process's earlier tests count too)."""
    return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)


@pytest.mark.django_db
def test_metrics_want_the_token_when_one_is_set_and_no_api_key(client, settings, key_a):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key_a}")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "metrics_token_required"
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_without_a_token_metrics_are_open_though_api_keys_are_on(client, key_a):
    assert client.get("/metrics").status_code == 200
    assert client.get("/v1/documents").status_code == 401


def test_forgetting_dead_processes_drops_only_their_live_gauges(settings):
    from ilios import metrics

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    files = {
        "dead_gauge": settings.METRICS_DIR / f"gauge_livesum_{dead.pid}.db",
        "dead_counts": settings.METRICS_DIR / f"counter_{dead.pid}.db",
        "live_gauge": settings.METRICS_DIR / f"gauge_livesum_{os.getppid()}.db",  # pytest's parent
    }
    for path in files.values():
        path.touch(exist_ok=True)
    try:
        metrics.forget_dead_processes()
        assert not files["dead_gauge"].exists(), "its conversions in progress are over"
        assert files["dead_counts"].exists(), "its counts stay in the totals"
        assert files["live_gauge"].exists()
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)


def post(server, path: str, name: str, content: bytes, **fields) -> dict | bytes:
    """A multipart POST with one file, to the live server."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in fields.items()
    ]
    head = "".join(parts) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    request = urllib.request.Request(
        server.url + path,
        data=head.encode() + content + f"\r\n--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = response.read()
    return json.loads(answer) if path != "/v1/convert" else answer


def scrape(server, token: str = TOKEN) -> dict:
    request = urllib.request.Request(
        server.url + "/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return samples(response.read().decode())


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_live_scrape_adds_up_every_process_after_real_conversions(
    api_server, workers, receiver, make_document, tmp_path
):
    from documents.models import Document
    from jobs.models import Worker

    server = api_server(METRICS_TOKEN=TOKEN, WEB_CONCURRENCY=2, **HOOKS)
    pdf = fixture_upload("minimal-document.pdf").read()
    before = scrape(server)  # this process's earlier tests have counted in the same files
    waiting = post(server, "/v1/documents", "a.pdf", pdf, webhookUrl=receiver.url)

    queued = scrape(server)  # no worker yet: one conversion due, waiting
    assert value(queued, "ilios_jobs", type="convert", status="pending") == 1
    assert value(queued, "ilios_oldest_ready_job_age_seconds", type="convert") >= 0
    assert value(queued, "ilios_workers_live") == 0

    workers(processes=2, concurrency=3, log=tmp_path / "workers.log", **HOOKS)
    make_document(b"FAIL=permanent")  # queued as a submission would, for the scripted engine
    post(server, "/v1/convert", "c.pdf", pdf)  # converted by gunicorn itself
    wait_until(
        lambda: set(Document.objects.values_list("status", flat=True)) == {"completed", "failed"},
        timeout=90,
    )
    wait_until(lambda: receiver.received, timeout=60)
    wait_until(
        lambda: value(scrape(server), "ilios_webhook_deliveries_total", outcome="delivered"),
        timeout=30,
    )
    with urllib.request.urlopen(f"{server.url}/v1/documents/{waiting['id']}/status") as answer:
        assert json.loads(answer.read())["status"] == "completed"
    # A worker process joins once its engine is built: under load the first can convert both
    # documents before the second has joined.
    wait_until(lambda: Worker.objects.filter(status=Worker.Status.ACTIVE).count() == 2, timeout=60)
    found = scrape(server)

    completed = {"engine": "local", "outcome": "completed"}
    grown = functools.partial(added, before, found)
    assert grown("ilios_conversions_total", **completed) == 2, "a worker's and gunicorn's"
    assert grown("ilios_pages_total", **completed) == 2
    assert grown("ilios_conversion_duration_seconds_count", engine="local") == 2
    assert grown("ilios_conversions_total", engine="scripted", outcome="failed") == 1
    assert grown("ilios_engine_errors_total", engine="scripted", kind="permanent") == 1
    assert grown("ilios_webhook_deliveries_total", outcome="delivered") == 1
    assert value(found, "ilios_conversions_in_progress", engine="local") == 0
    assert value(found, "ilios_workers_live") == 2
    assert value(found, "ilios_worker_seats", state="free") == 6
    assert value(found, "ilios_jobs", type="convert", status="pending") is None
    assert value(found, "ilios_oldest_ready_job_age_seconds", type="convert") is None
    submitted = {"route": "/v1/documents", "method": "POST", "status": "202"}
    assert grown("ilios_http_requests_total", **submitted) == 1
    polled = {"route": "/v1/documents/<id:document_id>/status", "method": "GET", "status": "200"}
    assert grown("ilios_http_requests_total", **polled) == 1
    routes = {dict(labels).get("route") for name, labels in found if "http_requests" in name}
    assert not any(waiting["id"] in str(route) for route in routes), "never a raw path"
    assert "/metrics" in routes
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(server, token="wrong")
    assert refused.value.code == 401
