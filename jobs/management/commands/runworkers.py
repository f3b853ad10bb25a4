"""`manage.py runworkers`: WORKER_COUNT processes, each converting up to MAX_CONCURRENT_JOBS
documents at once.

The parent only supervises: it forks the worker processes, forwards SIGTERM/SIGINT to them and
restarts one that dies. Each worker process claims as many jobs as it has free seats, runs them
on a thread pool (conversions mostly wait on the network or on C code that releases the GIL),
commits finished ones in groups, heartbeats into its Worker row, and recovers other workers'
orphans now and then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from documents import conversion, engines, retention
from documents.engines.base import ConversionError, ConversionResult, EngineUnavailable
from jobs import queue
from jobs.models import Job, Worker

logger = logging.getLogger("ilios.worker")

RESTART_DELAY_SECONDS = 1.0
GROUP_WAIT_SECONDS = 0.05


class Command(BaseCommand):
    help = "Run the conversion workers until SIGTERM or SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=settings.WORKER_COUNT)
        parser.add_argument("--concurrency", type=int, default=settings.MAX_CONCURRENT_JOBS)

    def handle(self, processes, concurrency, **options):
        Supervisor(processes, concurrency).run()


class Supervisor:
    def __init__(self, processes: int, concurrency: int):
        self.processes = processes
        self.concurrency = concurrency
        self.children: set[int] = set()
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        connections.close_all()  # children must not share the parent's database connections
        logger.info(
            "starting %d worker process(es), %d jobs each", self.processes, self.concurrency
        )
        for _ in range(self.processes):
            self.spawn()
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            self.children.discard(pid)
            if not self.stopping:
                logger.error("worker process %d exited (status %d); restarting it", pid, status)
                time.sleep(RESTART_DELAY_SECONDS)
                self.spawn()
        logger.info("all worker processes stopped")

    def on_signal(self, signum, frame) -> None:
        """Only flags and forwards: the wait loop does the rest."""
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def spawn(self) -> None:
        pid = os.fork()
        if pid:
            self.children.add(pid)
            return
        code = 1
        try:
            code = WorkerProcess(self.concurrency).run()
        except Exception:
            logger.exception("worker process crashed")
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            # Threads may still be inside an engine call we gave up on; do not wait for them.
            os._exit(code)


class WorkerProcess:
    """One worker process: the main thread claims, a pool converts, a recorder commits.

    Conversions run on a thread pool. A finished conversion keeps its seat until the recorder
    thread has committed it: the recorder takes every result that finished meanwhile and records
    them in one transaction (a group commit), so a busy worker spends one commit on many jobs
    while an idle one records a lone result at once. Failures are rare and recorded one by one
    by the thread that ran the job.
    """

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.stopping = threading.Event()
        # Guards in_flight, finished and counters; notified when a seat frees or a result arrives.
        self.state = threading.Condition()
        self.in_flight: dict[int, Job] = {}
        self.finished: list[tuple[Job, ConversionResult]] = []
        self.unrecorded = 0  # finished, not yet committed: in `finished` or being recorded
        self.commits = 0  # group commits made by the recorder
        self.recorder_stopping = False
        self.counters = queue.Counters()
        self.lost = False
        self.next_maintenance = time.monotonic() + random.uniform(0, settings.MAINTENANCE_INTERVAL)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.worker = queue.register_worker(self.concurrency)
        logger.info("worker %s started (pid %d)", self.worker.id, os.getpid())
        queue.refresh_statistics()
        self.warm_up()
        queue.listen()
        threading.Thread(target=self.heartbeat, daemon=True).start()
        recorder = threading.Thread(target=self.record_results, daemon=True)
        recorder.start()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="job")
        while not self.stopping.is_set():
            self.maintain_when_due()
            free = self.free_seats()
            if not free:
                continue
            token = queue.wake_token()
            jobs = queue.claim(self.worker.id, free)
            if not jobs:
                queue.wait_for_work(token)
                continue
            with self.state:
                self.in_flight.update((job.id, job) for job in jobs)
            for job in jobs:
                pool.submit(self.process, job)
        self.shut_down(recorder)
        pool.shutdown(wait=False, cancel_futures=True)
        return 1 if self.lost else 0

    def warm_up(self) -> None:
        """Build the default engine before the first claim, not in the first job's threads.

        Engines are built on first use; left to the first jobs, every pool thread would build
        its own at once (an SDK client, its imports) and the first batch would take seconds.
        """
        try:
            engines.get_engine(engines.resolve(None))
        except Exception:
            logger.exception("the default engine could not be built; jobs will report why")

    def free_seats(self) -> int:
        """Seats not taken by a running job; waits briefly for one when all are taken.

        While finished results await their commit, waits (briefly) for the recorder's next
        group commit to land, so the seats it frees are claimed together in one transaction
        rather than one by one in many: fast jobs then move in large groups, and slow ones
        lose a few milliseconds at most.
        """
        with self.state:
            if len(self.in_flight) >= self.concurrency:
                self.state.wait(timeout=1.0)
            deadline, commits = time.monotonic() + GROUP_WAIT_SECONDS, self.commits
            while self.unrecorded and self.commits == commits:
                if (left := deadline - time.monotonic()) <= 0:
                    break
                self.state.wait(timeout=left)
            return self.concurrency - len(self.in_flight)

    def process(self, job: Job) -> None:
        """Convert one document (in a pool thread); the recorder commits a success."""
        try:
            result = conversion.run(job.document, job.payload)
        except EngineUnavailable as exc:
            self.record_failure(job, str(exc), retryable=True, retry_after=exc.retry_after)
        except ConversionError as exc:
            self.record_failure(job, str(exc), retryable=False)
        except Exception as exc:
            logger.exception("job %s: unexpected error", job.id)
            self.record_failure(job, f"internal error ({type(exc).__name__})", retryable=True)
        else:
            with self.state:
                self.finished.append((job, result))
                self.unrecorded += 1
                self.state.notify_all()

    def record_results(self) -> None:
        """The recorder thread: commit finished conversions, many per transaction."""
        while True:
            with self.state:
                while not self.finished and not self.recorder_stopping:
                    self.state.wait()
                if not self.finished:
                    return
                batch, self.finished = self.finished, []
            try:
                recorded = {job.id for job in queue.complete_many(self.worker.id, batch)}
            except Exception:
                # The jobs stay processing; orphan recovery retries them after JOB_TIMEOUT.
                logger.exception("recording %d finished job(s) failed", len(batch))
                recorded = set()
            for job, _ in batch:
                if job.id not in recorded:
                    logger.warning("job %s: result not recorded (job lost or error)", job.id)
            with self.state:
                self.counters.completed += len(recorded)
                self.unrecorded -= len(batch)
                self.commits += 1
                for job, _ in batch:
                    self.in_flight.pop(job.id, None)
                self.state.notify_all()

    def record_failure(self, job, error, *, retryable, retry_after=None) -> None:
        try:
            status = queue.fail(
                job, self.worker.id, error, retryable=retryable, retry_after=retry_after
            )
        finally:
            with self.state:
                self.in_flight.pop(job.id, None)
                self.state.notify_all()
        if status:
            with self.state:
                self.counters.failed += 1
            logger.info("job %s attempt %d failed (%s): %s", job.id, job.attempts, status, error)

    def heartbeat(self) -> None:
        while not self.stopping.wait(settings.HEARTBEAT_INTERVAL):
            try:
                alive = queue.heartbeat(self.worker.id, self.counters)
            except Exception:
                logger.exception("heartbeat failed")
                continue
            if not alive:
                logger.error("worker %s was declared dead; stopping", self.worker.id)
                self.lost = True
                self.stopping.set()

    def maintain_when_due(self) -> None:
        if time.monotonic() < self.next_maintenance:
            return
        self.next_maintenance = time.monotonic() + settings.MAINTENANCE_INTERVAL
        try:
            queue.recover_orphans()
            retention.archive_expired()
            queue.refresh_statistics()
        except Exception:
            logger.exception("maintenance failed")

    def shut_down(self, recorder: threading.Thread) -> None:
        """Let running jobs finish within SHUTDOWN_GRACE, give the rest back, then stop."""
        queue.mark_worker(self.worker.id, Worker.Status.STOPPING)
        deadline = time.monotonic() + settings.SHUTDOWN_GRACE
        with self.state:
            while self.in_flight and time.monotonic() < deadline:
                self.state.wait(timeout=max(0.0, deadline - time.monotonic()))
            self.recorder_stopping = True  # it records what has finished, then ends
            self.state.notify_all()
        recorder.join()
        with self.state:
            unfinished = list(self.in_flight.values())
        for job in unfinished:
            if queue.release(job, self.worker.id):
                logger.info("job %s given back unfinished", job.id)
        queue.mark_worker(self.worker.id, Worker.Status.STOPPED, self.counters)
        logger.info("worker %s stopped", self.worker.id)
