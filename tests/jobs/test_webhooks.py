"""Webhook deliveries (jobs/webhooks.py): written with the outcome they announce, signed per
Standard Webhooks (verified by the `standardwebhooks` package in the receiver), retried through
the queue. In-process, time under control; a real receiver on 127.0.0.1."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from batches.models import Batch
from documents.engines.base import ConversionResult, Page
from documents.models import Document
from ilios.models import ApiKey
from jobs import queue, webhooks
from jobs.models import Delivery, Job
from tests.conftest import WEBHOOK_SECRET
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    return queue.register_worker(concurrency=4)


def a_result() -> ConversionResult:
    return ConversionResult(pages=[Page(0, "# Converted")], model="m")


def convert(worker, *, succeed: bool = True) -> None:
    """Run the ready conversions as a worker would, without an engine."""
    for job in queue.claim(worker.id, limit=100):
        if succeed:
            assert queue.complete(job, worker.id, a_result())
        else:
            queue.fail(job, worker.id, "unreadable", retryable=False)


def deliver(worker) -> list[webhooks.Attempt]:
    """Make one attempt at every due delivery, as runworkers' delivery lane does."""
    attempts = []
    for job in queue.claim(worker.id, limit=100, job_type=Job.Type.WEBHOOK):
        attempts.append(webhooks.send(job))
        queue.record_delivery(job, worker.id, attempts[-1])
    return attempts


def the_delivery() -> Delivery:
    return Delivery.objects.select_related("job").get()


def test_a_converted_document_is_announced_signed_with_its_status_and_markdown_url(
    make_document, worker, receiver
):
    document = make_document(webhook_url=receiver.url)
    convert(worker)
    [attempt] = deliver(worker)
    assert attempt.result == webhooks.Result.DELIVERED
    [received] = receiver.received
    assert received.payload is not None, received.error  # verified by standardwebhooks
    assert received.headers["webhook-id"] == the_delivery().id
    document.refresh_from_db()
    assert received.payload == {
        "event": "document.completed",
        "id": document.id,
        "status": "completed",
        "fileName": document.file_name,
        "metadata": document.metadata,
        "downloadUrl": f"/v1/documents/{document.id}",
    }
    assert b"# Converted" not in received.body, "the Markdown itself is never sent"
    delivery = the_delivery()
    assert (delivery.outcome, delivery.last_status_code, delivery.job.attempts) == (
        "delivered",
        200,
        1,
    )


def test_a_failed_document_is_announced_with_its_error(make_document, worker, receiver):
    document = make_document(webhook_url=receiver.url)
    convert(worker, succeed=False)
    deliver(worker)
    [payload] = receiver.events().values()
    assert payload == {
        "event": "document.failed",
        "id": document.id,
        "status": "failed",
        "fileName": document.file_name,
        "error": "unreadable",
    }


def test_a_document_without_a_webhook_is_announced_nowhere(make_document, worker):
    make_document()
    convert(worker)
    assert not Delivery.objects.exists()
    assert not Job.objects.filter(type=Job.Type.WEBHOOK).exists()


def test_the_delivery_commits_with_the_completion_or_not_at_all(make_document, worker):
    make_document(webhook_url="https://hooks.example/ilios")
    [job] = queue.claim(worker.id, limit=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.complete(job, worker.id, a_result())
        assert Delivery.objects.count() == 1, "written in the completion's transaction"
        raise RuntimeError("the worker dies before the commit")
    assert not Delivery.objects.exists() and not UsageRecord.objects.exists()
    assert queue.complete(job, worker.id, a_result())
    assert Delivery.objects.count() == 1


def test_a_worker_that_lost_its_job_announces_nothing(make_document, worker, clock):
    make_document(webhook_url="https://hooks.example/ilios")
    [job] = queue.claim(worker.id, limit=1)
    clock.advance(60)
    queue.recover_orphans()
    assert not queue.complete(job, worker.id, a_result())
    assert not Delivery.objects.exists()


def test_receiver_down_then_500_then_up_is_delivered_once_with_one_id(
    make_document, worker, webhook_settings, clock
):
    from fakes.webhook_receiver import WebhookReceiver

    down = WebhookReceiver(WEBHOOK_SECRET)  # bound, not listening: connections are refused
    try:
        make_document(webhook_url=down.url)
        convert(worker)
        [refused] = deliver(worker)
        assert refused.result == webhooks.Result.RETRYABLE
        assert "connection failed" in refused.error
        assert the_delivery().next_attempt_at == clock.now + timedelta(seconds=5)
        down.up()
        down.answer(500)
        clock.advance(4)
        assert deliver(worker) == [], "retried before its backoff"
        clock.advance(1)
        [server_error] = deliver(worker)
        assert (server_error.result, server_error.status_code) == ("retryable", 500)
        assert the_delivery().outcome == "retrying"
        assert the_delivery().next_attempt_at == clock.now + timedelta(seconds=10)
        clock.advance(10)
        [delivered] = deliver(worker)
        assert delivered.result == webhooks.Result.DELIVERED
    finally:
        down.close()
    assert len(down.received) == 2
    assert all(r.payload is not None for r in down.received), "every attempt verifies"
    assert {r.headers["webhook-id"] for r in down.received} == {the_delivery().id}
    assert len(down.events()) == 1
    delivery = the_delivery()
    assert (delivery.outcome, delivery.job.attempts, delivery.last_status_code) == (
        "delivered",
        3,
        200,
    )


def test_a_retry_after_longer_than_the_backoff_is_honoured(make_document, worker, receiver, clock):
    make_document(webhook_url=receiver.url)
    convert(worker)
    receiver.answer(429, retry_after=120)
    [throttled] = deliver(worker)
    assert (throttled.result, throttled.retry_after) == ("retryable", 120)
    assert the_delivery().next_attempt_at == clock.now + timedelta(seconds=120)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_another_4xx_gives_up_at_once(make_document, worker, receiver, status):
    make_document(webhook_url=receiver.url)
    convert(worker)
    receiver.answer(status)
    [refused] = deliver(worker)
    assert refused.result == webhooks.Result.PERMANENT
    delivery = the_delivery()
    assert (delivery.outcome, delivery.job.attempts, delivery.last_status_code) == (
        "failed",
        1,
        status,
    )
    assert Document.objects.get().status == "completed", "the document is not touched"


def test_a_redirect_is_not_followed(make_document, worker, receiver):
    make_document(webhook_url=receiver.url)
    convert(worker)
    receiver.answer(307)
    [redirected] = deliver(worker)
    assert redirected.result == webhooks.Result.PERMANENT
    assert "redirects are not followed" in redirected.error
    assert len(receiver.received) == 1


def test_a_receiver_slower_than_the_timeout_is_retried(make_document, worker, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    make_document(webhook_url=receiver.url)
    convert(worker)
    receiver.hold.clear()
    [slow] = deliver(worker)
    receiver.hold.set()
    assert slow.result == webhooks.Result.RETRYABLE
    assert "no answer within 0.3 s" in slow.error
    assert the_delivery().outcome == "retrying"


def test_it_keeps_trying_for_about_a_day_then_gives_up(make_document, worker, receiver, clock):
    make_document(webhook_url=receiver.url)
    convert(worker)
    receiver.answer(*[503] * webhooks.DELIVERY_ATTEMPTS)
    first_attempt = clock.now
    while (delivery := the_delivery()).outcome in ("pending", "retrying"):
        clock.advance((delivery.job.scheduled_at - clock.now).total_seconds())
        last_attempt = clock.now
        deliver(worker)
    assert delivery.outcome == "failed"
    assert delivery.job.attempts == webhooks.DELIVERY_ATTEMPTS
    span = last_attempt - first_attempt
    assert timedelta(hours=20) < span < timedelta(hours=26), span


def test_an_api_keys_own_secret_signs_its_deliveries(make_document, worker, receiver):
    key, _ = ApiKey.generate("team")
    own_secret = key.new_webhook_secret()
    make_document(webhook_url=receiver.url, api_key=key)
    convert(worker)
    deliver(worker)
    [received] = receiver.received
    assert received.payload is None, "WEBHOOK_SECRET does not verify it"
    assert Webhook(own_secret).verify(received.body, received.headers)["event"] == (
        "document.completed"
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)


def test_the_secret_is_stored_only_sealed():
    key, _ = ApiKey.generate("team")
    secret = key.new_webhook_secret()
    assert secret.startswith("whsec_")
    stored = [str(value) for value in ApiKey.objects.values().get(id=key.id).values()]
    assert not any(secret in value or secret[6:] in value for value in stored)
    assert ApiKey.objects.get(id=key.id).webhook_secret() == secret


def test_a_batch_is_announced_once_when_its_last_document_finishes(make_document, worker, receiver):
    batch = Batch.objects.create(total_documents=2, webhook_url=receiver.url)
    make_document(batch=batch, webhook_url=receiver.url)
    make_document(batch=batch, webhook_url=receiver.url)
    convert(worker)
    deliver(worker)
    events = sorted(payload["event"] for payload in receiver.events().values())
    assert events == ["batch.completed", "document.completed", "document.completed"]
    [announced] = [p for p in receiver.events().values() if p["event"] == "batch.completed"]
    assert announced["batchId"] == batch.id
    assert announced["status"] == "completed"
    assert announced["progress"]["total"] == announced["progress"]["completed"] == 2
    assert announced["downloadUrl"] == f"/v1/batch/download/{batch.id}"


def test_targets_are_checked_again_before_every_attempt(make_document, worker, receiver, settings):
    make_document(webhook_url=receiver.url)
    convert(worker)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # e.g. the operator closed the door since
    [refused] = deliver(worker)
    assert refused.result == webhooks.Result.PERMANENT
    assert "must be an https URL" in refused.error
    assert receiver.received == []


# --- Which targets are refused --------------------------------------------------------------


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://203.0.113.7/hook", "https"),
        ("ftp://hooks.example/", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://100.64.0.1/hook", "private"),
        ("https://0.0.0.0/hook", "private"),
        ("https://user:pw@93.184.215.14/hook", "user name"),
        ("https://no-such-host.invalid/hook", "cannot be resolved"),
        ("https://93.184.215.14:99999/hook", "not a valid URL"),
    ],
)
def test_unsafe_targets_are_refused(settings, url, reason):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(webhooks.RefusedTarget, match=reason):
        webhooks.check_target(url)


def test_a_public_address_over_https_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    target = webhooks.check_target("https://93.184.215.14/hooks?team=7")  # nothing is sent
    assert (target.host, target.port, target.path) == ("93.184.215.14", 443, "/hooks?team=7")


def test_private_networks_and_http_can_be_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    target = webhooks.check_target("http://localhost:8080/hook")
    assert "127.0.0.1" in target.addresses or "::1" in target.addresses


def test_the_signature_is_the_standard_one():
    body = b'{"event":"document.completed"}'
    signature = webhooks.sign(WEBHOOK_SECRET, "msg_1", 1700000000, body)
    expected = Webhook(WEBHOOK_SECRET).sign(
        "msg_1", datetime.fromtimestamp(1700000000, UTC), body.decode()
    )
    assert signature == expected


def test_a_job_whose_delivery_was_deleted_gives_up_at_once(make_document, worker, receiver):
    document = make_document(webhook_url=receiver.url)
    convert(worker)
    Delivery.objects.filter(document=document).delete()
    [attempt] = deliver(worker)
    assert attempt.result == webhooks.Result.PERMANENT
    assert Job.objects.get(type=Job.Type.WEBHOOK).status == "failed"
    assert receiver.received == []
