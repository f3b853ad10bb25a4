"""Webhook deliveries through real `runworkers` processes: every document announced exactly
once (as a de-duplicating receiver sees it), a SIGKILL mid-delivery, a slow receiver."""

import os
import signal

import pytest

from documents.models import Document
from jobs.models import Delivery, Job
from tests.conftest import WEBHOOK_SECRET, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOOKS = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
FAST_RECOVERY = {"HEARTBEAT_INTERVAL": 0.2, "WORKER_DEAD_AFTER": 2, "MAINTENANCE_INTERVAL": 0.5}


def completions(receiver) -> list[str]:
    return sorted(
        payload["id"]
        for payload in receiver.events().values()
        if payload["event"] == "document.completed"
    )


def test_every_document_is_announced_exactly_once(make_document, workers, receiver):
    documents = [make_document(b"doc %d" % i, webhook_url=receiver.url) for i in range(40)]
    receiver.answer(*[500] * 5)  # a few deliveries need a second attempt
    workers(processes=2, concurrency=2, WEBHOOK_CONCURRENCY=2, **HOOKS)
    expected = sorted(document.id for document in documents)
    wait_until(lambda: completions(receiver) == expected, timeout=90)
    wait_until(
        lambda: (
            set(Job.objects.filter(type="webhook").values_list("status", flat=True))
            == {"completed"}
        )
    )
    assert all(r.payload is not None for r in receiver.received), "every attempt verifies"
    assert Delivery.objects.count() == 40
    assert len(receiver.received) == 45


def test_a_worker_killed_mid_delivery_is_redelivered_with_the_same_id(
    make_document, workers, receiver
):
    document = make_document(webhook_url=receiver.url)
    receiver.hold.clear()  # the first attempt hangs inside the receiver
    workers(processes=1, concurrency=1, **HOOKS, **FAST_RECOVERY)
    assert receiver.arrived.wait(60)
    delivery = Delivery.objects.select_related("job__worker").get()
    assert delivery.job.status == "processing"
    os.kill(delivery.job.worker.pid, signal.SIGKILL)
    receiver.hold.set()  # the killed worker never hears this answer
    wait_until(lambda: Job.objects.get(id=delivery.job_id).status == "completed", timeout=60)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids == [delivery.id, delivery.id], "retried, with the same webhook-id"
    assert completions(receiver) == [document.id]
    assert Job.objects.get(id=delivery.job_id).attempts == 2


def test_a_slow_receiver_never_holds_up_conversions(make_document, workers, receiver):
    first = make_document(b"doc 0", webhook_url=receiver.url)
    receiver.hold.clear()  # every delivery hangs until the end of the test
    workers(processes=1, concurrency=1, WEBHOOK_CONCURRENCY=1, WEBHOOK_TIMEOUT=60, **HOOKS)
    assert receiver.arrived.wait(60), "the first delivery holds the only delivery seat"
    later = [make_document(b"doc %d" % i, webhook_url=receiver.url) for i in range(1, 6)]
    wait_until(
        lambda: Document.objects.filter(status="completed").count() == 1 + len(later), timeout=60
    )
    assert Job.objects.filter(type="webhook", status="processing").count() == 1
    assert len(receiver.received) == 1, "one delivery seat, held by the slow receiver"
    receiver.hold.set()
    wait_until(lambda: len(completions(receiver)) == 1 + len(later), timeout=60)
    assert first.id in completions(receiver)


def test_sigterm_gives_a_delivery_in_flight_back_unspent(make_document, workers, receiver):
    make_document(webhook_url=receiver.url)
    receiver.hold.clear()
    runner = workers(processes=1, concurrency=1, SHUTDOWN_GRACE=0.5, WEBHOOK_TIMEOUT=60, **HOOKS)
    assert receiver.arrived.wait(60)
    assert runner.stop() == 0
    job = Job.objects.get(type="webhook")
    assert (job.status, job.attempts) == ("pending", 0)
