"""Workers through a PostgreSQL outage: a worker process survives its connections being dropped
and the database refusing it for a while, keeps a result that finished meanwhile and records it
when the database is back, exactly once; nothing is restarted."""

import os
import time

import pytest

from documents.models import Document
from jobs.models import Job, Worker
from tests.conftest import wait_until
from tests.outages import database_down, drop_connections, requires_postgresql
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, requires_postgresql]


def status_of(document) -> str:
    return Document.objects.get(id=document.id).status


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def worker(workers, tmp_path):
    """One running worker process: its Worker row, with `log` (the supervisor's output)."""
    log = tmp_path / "workers.log"
    runner = workers(processes=1, concurrency=2, log=log, HEARTBEAT_INTERVAL=0.2)
    [row] = wait_until(lambda: list(Worker.objects.filter(status=Worker.Status.ACTIVE)))
    row.log = log
    row.runner = runner
    return row


def assert_still_the_same_worker(worker) -> None:
    assert list(Worker.objects.values_list("id", "status")) == [(worker.id, "active")]
    assert alive(worker.pid)
    log = worker.log.read_text()
    assert "crashed" not in log and "restarting" not in log, log


def test_a_worker_survives_its_connections_being_dropped(make_document, worker):
    converting = make_document(b"SLEEP=1.5")
    wait_until(lambda: status_of(converting) == "processing")

    assert drop_connections() >= 1
    queued_after = make_document(b"after the drop")

    wait_until(lambda: status_of(converting) == status_of(queued_after) == "completed")
    assert list(Job.objects.values_list("attempts", flat=True)) == [1, 1]
    assert UsageRecord.objects.count() == 2
    assert_still_the_same_worker(worker)


def test_a_result_finished_during_an_outage_is_recorded_once_the_database_is_back(
    make_document, worker
):
    document = make_document(b"SLEEP=1")
    wait_until(lambda: status_of(document) == "processing")

    with database_down():
        time.sleep(3)  # the conversion ends meanwhile; recording it, claims, heartbeats fail

    wait_until(lambda: status_of(document) == "completed")
    job = Job.objects.get(document=document)
    assert (job.attempts, job.worker_id) == (1, worker.id)
    assert UsageRecord.objects.filter(document=document).count() == 1
    assert "finished job(s) kept" in worker.log.read_text()
    assert_still_the_same_worker(worker)
    later = make_document(b"claimed after the outage")
    wait_until(lambda: status_of(later) == "completed")


def test_a_worker_started_while_the_database_is_down_waits_for_it(workers, make_document, tmp_path):
    log = tmp_path / "workers.log"
    with database_down():
        workers(processes=1, concurrency=2, log=log, HEARTBEAT_INTERVAL=0.2)
        wait_until(lambda: "starting again" in log.read_text())

    [row] = wait_until(lambda: list(Worker.objects.filter(status=Worker.Status.ACTIVE)))
    document = make_document(b"queued after the outage")
    wait_until(lambda: status_of(document) == "completed")
    assert "crashed" not in log.read_text() and "restarting" not in log.read_text()
