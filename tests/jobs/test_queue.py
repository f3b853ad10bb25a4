"""The queue's promises (docs/design.md, The queue's promises), in-process, time under control."""

from datetime import timedelta

import pytest

from documents.engines.base import ConversionResult, Page
from documents.models import Document
from jobs import queue
from jobs.models import Job, Worker
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    return queue.register_worker(concurrency=4)


def a_result(pages: int = 1) -> ConversionResult:
    return ConversionResult(pages=[Page(i, f"page {i}") for i in range(pages)], model="m")


def job_of(document) -> Job:
    return Job.objects.get(document=document)


def test_it_claims_highest_priority_first_then_oldest(make_document, worker, clock):
    low = make_document(priority=1)
    clock.advance(1)
    older_high = make_document(priority=9)
    clock.advance(1)
    newer_high = make_document(priority=9)
    claimed = [job.document_id for job in queue.claim(worker.id, limit=3)]
    assert claimed == [older_high.id, newer_high.id, low.id]


def test_a_claimed_job_is_not_claimed_again(make_document, worker):
    make_document()
    other = queue.register_worker(concurrency=1)
    assert len(queue.claim(worker.id, limit=5)) == 1
    assert queue.claim(other.id, limit=5) == []


def test_claiming_sets_the_document_processing_and_spends_an_attempt(make_document, worker):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    document.refresh_from_db()
    assert document.status == Document.Status.PROCESSING
    assert (job.status, job.attempts, job.worker_id) == ("processing", 1, worker.id)


def test_completion_stores_content_and_bills_exactly_once(make_document, worker):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    assert queue.complete(job, worker.id, a_result(pages=3))
    assert not queue.complete(job, worker.id, a_result(pages=3))
    document.refresh_from_db()
    assert document.status == Document.Status.COMPLETED
    assert document.content == "page 0\n\npage 1\n\npage 2"
    assert document.pages == 3
    assert UsageRecord.objects.filter(document=document).count() == 1


def test_a_worker_that_lost_its_job_cannot_record_a_result(make_document, worker, clock):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    clock.advance(60)  # the worker stops heartbeating; another takes over its job
    queue.recover_orphans()
    rescuer = queue.register_worker(concurrency=1)
    clock.advance(10)
    [retried] = queue.claim(rescuer.id, limit=1)
    assert not queue.complete(job, worker.id, a_result())
    assert queue.complete(retried, rescuer.id, a_result())
    assert UsageRecord.objects.filter(document=document).count() == 1


def test_a_worker_declared_dead_claims_nothing(make_document, worker, clock):
    document = make_document()
    clock.advance(60)  # the worker was cut off and stopped heartbeating
    queue.recover_orphans()
    assert Worker.objects.get(id=worker.id).status == Worker.Status.DEAD
    assert queue.claim(worker.id, limit=1) == []
    assert job_of(document).status == Job.Status.PENDING


def test_it_retries_after_5_then_10_seconds_then_fails(make_document, worker, clock):
    document = make_document()
    for backoff in (5, 10):
        [job] = queue.claim(worker.id, limit=1)
        assert queue.fail(job, worker.id, "outage", retryable=True) == Job.Status.PENDING
        clock.advance(backoff - 1)
        assert queue.claim(worker.id, limit=1) == [], "claimed before its backoff"
        clock.advance(1)
    [job] = queue.claim(worker.id, limit=1)
    assert job.attempts == 3
    assert queue.fail(job, worker.id, "outage", retryable=True) == Job.Status.FAILED
    document.refresh_from_db()
    assert (document.status, document.error) == (Document.Status.FAILED, "outage")


def test_more_attempts_keep_doubling_the_backoff(make_document, worker, clock, settings):
    settings.JOB_MAX_ATTEMPTS = 4
    make_document()
    delays = []
    for _ in range(3):
        [job] = queue.claim(worker.id, limit=1)
        queue.fail(job, worker.id, "outage", retryable=True)
        job.refresh_from_db()
        delays.append((job.scheduled_at - clock.now).total_seconds())
        clock.advance(delays[-1])
    assert delays == [5, 10, 20]
    [job] = queue.claim(worker.id, limit=1)
    assert queue.fail(job, worker.id, "outage", retryable=True) == Job.Status.FAILED


def test_a_permanent_error_fails_at_once(make_document, worker):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    assert queue.fail(job, worker.id, "not a PDF", retryable=False) == Job.Status.FAILED
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert job_of(document).attempts == 1


def test_it_honours_a_retry_after_longer_than_the_backoff(make_document, worker, clock):
    make_document()
    [job] = queue.claim(worker.id, limit=1)
    queue.fail(job, worker.id, "rate limited", retryable=True, retry_after=42)
    job.refresh_from_db()
    assert job.scheduled_at == clock.now + timedelta(seconds=42)


def test_a_released_job_keeps_its_attempt(make_document, worker):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    assert queue.release(job, worker.id)
    job.refresh_from_db()
    document.refresh_from_db()
    assert (job.status, job.attempts, job.worker_id) == ("pending", 0, None)
    assert document.status == Document.Status.PENDING


def test_a_dead_workers_job_counts_as_a_failed_attempt(make_document, worker, clock):
    make_document()
    [job] = queue.claim(worker.id, limit=1)
    clock.advance(5)
    assert queue.recover_orphans() == 0, "a worker that heartbeats recently is alive"
    clock.advance(60)
    assert queue.recover_orphans() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("pending", 1)
    assert "stopped responding" in job.error
    assert Worker.objects.get(id=worker.id).status == Worker.Status.DEAD


def test_a_job_past_its_timeout_is_recovered(make_document, worker, clock, settings):
    settings.JOB_TIMEOUT = 120
    make_document()
    [job] = queue.claim(worker.id, limit=1)
    for _ in range(13):
        clock.advance(10)
        queue.heartbeat(worker.id, queue.Counters())
    assert queue.recover_orphans() == 1
    job.refresh_from_db()
    assert "timed out" in job.error


def test_retrying_a_failed_job_gives_it_fresh_attempts(make_document, worker):
    document = make_document()
    [job] = queue.claim(worker.id, limit=1)
    queue.fail(job, worker.id, "bad", retryable=False)
    assert queue.retry_now([job.id]) == 1
    job.refresh_from_db()
    document.refresh_from_db()
    assert (job.status, job.attempts, document.status) == ("pending", 0, "pending")


def test_cancelling_leaves_a_claimed_job_alone(make_document, worker):
    pending, claimed = make_document(priority=1), make_document(priority=9)
    queue.claim(worker.id, limit=1)
    assert queue.cancel_pending([pending.id, claimed.id]) == 1
    assert Document.objects.get(id=pending.id).status == Document.Status.CANCELLED
    assert Document.objects.get(id=claimed.id).status == Document.Status.PROCESSING
