"""`manage.py runworkers` as real processes: races, crashes and shutdowns."""

import os
import re
import signal
import threading

import pytest

from documents.models import Document
from jobs.management.commands.runworkers import WorkerProcess
from jobs.models import Job, Worker
from tests.conftest import wait_until
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_RECOVERY = {"HEARTBEAT_INTERVAL": 0.2, "WORKER_DEAD_AFTER": 2, "MAINTENANCE_INTERVAL": 0.5}


def statuses(*documents) -> list[str]:
    return list(
        Document.objects.filter(id__in=[d.id for d in documents]).values_list("status", flat=True)
    )


def test_racing_processes_complete_every_job_exactly_once(make_document, workers):
    documents = [make_document(b"job %d" % i) for i in range(500)]
    workers(processes=4, concurrency=4)
    wait_until(lambda: Job.objects.filter(status="completed").count() == 500, timeout=120)
    assert Job.objects.filter(attempts=1).count() == 500, "a job was claimed twice"
    assert UsageRecord.objects.count() == 500
    assert set(statuses(*documents)) == {"completed"}
    assert Worker.objects.filter(jobs__isnull=False).distinct().count() > 1


def test_a_killed_workers_job_is_recovered_and_billed_once(make_document, workers):
    document = make_document(b"SLEEP=1.5")
    workers(processes=1, concurrency=1, **FAST_RECOVERY)
    job = wait_until(
        lambda: Job.objects.filter(status="processing").select_related("worker").first()
    )
    killed_pid = job.worker.pid
    os.kill(killed_pid, signal.SIGKILL)
    wait_until(lambda: statuses(document) == ["completed"], timeout=60)
    job.refresh_from_db()
    assert job.attempts == 2
    assert Worker.objects.get(pid=killed_pid).status == Worker.Status.DEAD
    assert UsageRecord.objects.filter(document=document).count() == 1


def test_sigterm_lets_the_running_job_finish(make_document, workers):
    document = make_document(b"SLEEP=1")
    runner = workers(processes=1, concurrency=1, SHUTDOWN_GRACE=30)
    wait_until(lambda: statuses(document) == ["processing"])
    assert runner.stop() == 0
    assert statuses(document) == ["completed"]
    assert list(Worker.objects.values_list("status", flat=True)) == ["stopped"]


def test_a_second_sigterm_inside_the_handling_of_the_first_returns_at_once():
    """A worker gets SIGTERM twice when its process group is signalled and the supervisor
    forwards one. Python runs the second handler between two bytecodes of the first, here
    inside `stopping.set()` while it holds the event's lock: setting it again there hung the
    worker (seen under `make bench`, until it was killed)."""
    worker = WorkerProcess(concurrency=1)
    nested = []

    class SecondSignalInside(threading.Event):
        def set(self):
            with self._cond:
                worker.on_signal(signal.SIGTERM, None)
                nested.append("returned")
                super_set = threading.Event.set
            super_set(self)

    worker.stopping = SecondSignalInside()
    handler = threading.Thread(target=worker.on_signal, args=(signal.SIGTERM, None), daemon=True)
    handler.start()
    handler.join(timeout=5)
    assert not handler.is_alive(), "the worker hung on its own lock"
    assert nested == ["returned"] and worker.stopping.is_set()


def test_sigterm_past_the_grace_period_gives_the_job_back_unspent(make_document, workers):
    document = make_document(b"SLEEP=30")
    runner = workers(processes=1, concurrency=1, SHUTDOWN_GRACE=0.5)
    wait_until(lambda: statuses(document) == ["processing"])
    assert runner.stop() == 0
    job = Job.objects.get(document=document)
    assert (job.status, job.attempts) == ("pending", 0)
    assert statuses(document) == ["pending"]
    assert list(Worker.objects.values_list("status", flat=True)) == ["stopped"]


def test_a_failing_engine_does_not_kill_the_worker(make_document, workers):
    broken = make_document(b"FAIL=permanent")
    fine = make_document(b"fine")
    workers(processes=1, concurrency=1)
    wait_until(lambda: sorted(statuses(broken, fine)) == ["completed", "failed"])
    assert Document.objects.get(id=broken.id).error == "scripted permanent failure"


def live_workers() -> list[Worker]:
    return list(Worker.objects.filter(status=Worker.Status.ACTIVE))


def test_a_worker_process_that_dies_is_replaced(make_document, workers):
    workers(processes=1, concurrency=1)
    [first] = wait_until(live_workers)
    os.kill(first.pid, signal.SIGKILL)
    replacement = wait_until(lambda: [w for w in live_workers() if w.pid != first.pid])
    assert replacement
    document = make_document(b"after the crash")
    wait_until(lambda: statuses(document) == ["completed"])
    assert Job.objects.get(document=document).worker_id == replacement[0].id


def test_a_worker_declared_dead_stops_and_a_fresh_one_takes_its_place(make_document, workers):
    document = make_document(b"SLEEP=1")
    workers(processes=1, concurrency=1, HEARTBEAT_INTERVAL=0.2)
    [declared] = wait_until(live_workers)
    wait_until(lambda: statuses(document) == ["processing"])
    Worker.objects.filter(id=declared.id).update(status=Worker.Status.DEAD)

    def gone() -> bool:
        try:
            os.kill(declared.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone)
    [fresh] = wait_until(live_workers)
    assert fresh.pid != declared.pid
    assert Worker.objects.get(id=declared.id).status == Worker.Status.DEAD, "it did not revive"


def restart_delays(log) -> list[float]:
    return [float(s) for s in re.findall(r"restarting it in ([\d.]+) s", log.read_text())]


def test_children_that_keep_dying_young_are_restarted_ever_more_slowly(workers, tmp_path):
    log = tmp_path / "workers.log"
    runner = workers(processes=1, concurrency=1, log=log)
    killed: set[int] = set()
    for _ in range(3):  # each child dies as soon as it has started
        [child] = wait_until(lambda: [w for w in live_workers() if w.pid not in killed])
        os.kill(child.pid, signal.SIGKILL)
        killed.add(child.pid)

    wait_until(lambda: len(restart_delays(log)) >= 3)

    assert restart_delays(log)[:3] == [1, 2, 4]
    assert runner.stop() == 0, "SIGTERM during the wait stops the supervisor"
