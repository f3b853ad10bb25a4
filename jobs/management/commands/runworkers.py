"""`manage.py runworkers`: WORKER_COUNT processes, each converting up to MAX_CONCURRENT_JOBS
documents at once.

The parent only supervises: it forks the worker processes, forwards SIGTERM/SIGINT to them and
restarts one that dies. Each worker process claims as many jobs as it has free seats, runs them
on a thread pool (conversions mostly wait on the network or on C code that releases the GIL),
commits finished ones in groups, heartbeats into its Worker row, and recovers other workers'
orphans now and then (the shape of healthchecks' `sendalerts`: signal handlers set a flag, a
semaphore of seats feeds a thread pool). Webhook deliveries run beside the conversions in the
same shape, on seats, claims and threads of their own (`DeliveryLane`).
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
from queue import SimpleQueue

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connections

from documents import conversion, engines, retention
from documents.engines.base import ConversionError, ConversionResult, EngineUnavailable
from ilios import idempotency
from jobs import payload as job_payload
from jobs import queue, webhooks
from jobs.models import Job, Worker

logger = logging.getLogger("ilios.worker")

RESTART_DELAY_SECONDS = 1.0


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
        # A database no process can open (a wrong DB_ENCRYPTION_KEY) stops start-up here, once,
        # rather than every child as it is restarted; an outage the children wait out.
        with contextlib.suppress(DatabaseError):
            connections["default"].ensure_connection()
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

    Seats are a semaphore of `concurrency`: the main thread takes every free seat, claims that
    many jobs in one transaction and gives back the seats it found no job for. A job keeps its
    seat until its outcome is committed. Finished conversions go onto a queue that the recorder
    thread drains: everything that finished meanwhile is recorded in one transaction (a group
    commit) and its seats come back together, so they are claimed again together, and a busy
    worker spends one commit on many jobs while an idle one records a lone result at once.
    Failures are rare and recorded one by one by the thread that ran the job.

    Signal handlers only set `stopping`; the main thread notices it within a second.
    """

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.seats = threading.BoundedSemaphore(concurrency)
        self.finished: SimpleQueue[tuple[Job, ConversionResult] | None] = SimpleQueue()
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # guards `held` and `counters`
        self.held: dict[int, Job] = {}  # claimed, outcome not yet recorded
        self.counters = queue.Counters()
        self.lost = False
        self.next_maintenance = time.monotonic() + random.uniform(0, settings.MAINTENANCE_INTERVAL)
        self.deliveries = DeliveryLane(self)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.worker = queue.register_worker(self.concurrency)
        logger.info("worker %s started (pid %d)", self.worker.id, os.getpid())
        queue.refresh_statistics()
        self.warm_up()
        queue.listen_for_work()
        threading.Thread(target=self.heartbeat, daemon=True).start()
        recorder = threading.Thread(target=self.record_results, daemon=True)
        recorder.start()
        self.deliveries.start()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="job")
        while not self.stopping.is_set():
            self.maintain_when_due()
            seats = take_free_seats(self.seats)
            if not seats:
                continue
            token = queue.wake_token()
            jobs = queue.claim(self.worker.id, seats)
            if len(jobs) < seats:
                self.seats.release(seats - len(jobs))
            if not jobs:
                queue.wait_for_work(token)
                continue
            with self.lock:
                self.held.update((job.id, job) for job in jobs)
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

    def process(self, job: Job) -> None:
        """Convert one document (in a pool thread); the recorder commits a success."""
        try:
            result = conversion.run(queue.document_of(job), job_payload.options(job.payload))
        except EngineUnavailable as exc:
            self.record_failure(job, str(exc), retryable=True, retry_after=exc.retry_after)
        except ConversionError as exc:
            self.record_failure(job, str(exc), retryable=False)
        except Exception as exc:
            logger.exception("job %s: unexpected error", job.id)
            self.record_failure(job, f"internal error ({type(exc).__name__})", retryable=True)
        else:
            self.finished.put((job, result))

    def record_results(self) -> None:
        """The recorder thread: commit finished conversions, many per transaction, until told
        to stop (a None on the queue)."""
        while True:
            batch = [self.finished.get()]
            while not self.finished.empty():
                batch.append(self.finished.get())
            finished = [item for item in batch if item is not None]
            if finished:
                self.record(finished)
            if len(finished) < len(batch):
                return

    def record(self, batch: list[tuple[Job, ConversionResult]]) -> None:
        try:
            recorded = {job.id for job in queue.complete_many(self.worker.id, batch)}
        except Exception:
            # The jobs stay processing; orphan recovery retries them after JOB_TIMEOUT.
            logger.exception("recording %d finished job(s) failed", len(batch))
            recorded = set()
        for job, _ in batch:
            if job.id not in recorded:
                logger.warning("job %s: result not recorded (job lost or error)", job.id)
        with self.lock:
            self.counters.completed += len(recorded)
            for job, _ in batch:
                self.held.pop(job.id, None)
        self.seats.release(len(batch))

    def record_failure(self, job, error, *, retryable, retry_after=None) -> None:
        try:
            status = queue.fail(
                job, self.worker.id, error, retryable=retryable, retry_after=retry_after
            )
        finally:
            with self.lock:
                self.held.pop(job.id, None)
            self.seats.release()
        if status:
            with self.lock:
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
            idempotency.purge_expired()
            queue.refresh_statistics()
        except Exception:
            logger.exception("maintenance failed")

    def shut_down(self, recorder: threading.Thread) -> None:
        """Let running jobs finish within SHUTDOWN_GRACE, give the rest back, then stop.

        Every seat back means every claimed job's outcome is committed.
        """
        queue.mark_worker(self.worker.id, Worker.Status.STOPPING)
        deadline = time.monotonic() + settings.SHUTDOWN_GRACE
        returned = 0
        while returned < self.concurrency and (left := deadline - time.monotonic()) > 0:
            returned += self.seats.acquire(timeout=left)
        self.finished.put(None)  # the recorder records what has finished, then ends
        recorder.join()
        with self.lock:
            unfinished = list(self.held.values())
        for job in unfinished:
            if queue.release(job, self.worker.id):
                logger.info("job %s given back unfinished", job.id)
        self.deliveries.shut_down(deadline)
        queue.mark_worker(self.worker.id, Worker.Status.STOPPED, self.counters)
        logger.info("worker %s stopped", self.worker.id)


def take_free_seats(seats: threading.BoundedSemaphore) -> int:
    """Wait for a seat (at most a second, so stopping and maintenance are noticed), then take
    every other free one."""
    if not seats.acquire(timeout=1.0):
        return 0
    taken = 1
    while seats.acquire(blocking=False):
        taken += 1
    return taken


class DeliveryLane:
    """Webhook deliveries beside a worker process's conversions: WEBHOOK_CONCURRENCY seats,
    claims and threads of their own.

    A receiver that answers slowly (or not at all, until WEBHOOK_TIMEOUT) holds one of these
    seats, never a conversion's, and a backlog of conversions never delays a delivery. The shape
    is the conversions': a thread claims as many delivery jobs as there are free seats; each
    delivery's pool thread records its own attempt (`queue.record_delivery`) and gives its seat
    back. The worker's `stopping` flag stops it too.
    """

    def __init__(self, process: WorkerProcess):
        self.process = process
        self.size = settings.WEBHOOK_CONCURRENCY
        self.seats = threading.BoundedSemaphore(self.size)
        self.held: dict[int, Job] = {}  # claimed, attempt not yet recorded (under process.lock)
        self.thread = threading.Thread(target=self.claim_deliveries, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def claim_deliveries(self) -> None:
        queue.listen_for_work()
        pool = ThreadPoolExecutor(self.size, thread_name_prefix="delivery")
        stopping = self.process.stopping
        while not stopping.is_set():
            seats = take_free_seats(self.seats)
            if not seats:
                continue
            try:
                token = queue.wake_token()
                jobs = queue.claim(self.process.worker.id, seats, Job.Type.WEBHOOK)
            except Exception:
                logger.exception("claiming webhook deliveries failed")
                self.seats.release(seats)
                stopping.wait(1.0)
                continue
            if len(jobs) < seats:
                self.seats.release(seats - len(jobs))
            if not jobs:
                queue.wait_for_work(token)
                continue
            with self.process.lock:
                self.held.update((job.id, job) for job in jobs)
            for job in jobs:
                pool.submit(self.deliver, job)
        pool.shutdown(wait=False, cancel_futures=True)

    def deliver(self, job: Job) -> None:
        """One attempt at one delivery (in a pool thread), recorded at once."""
        try:
            attempt = webhooks.send(job)
        except Exception as exc:
            logger.exception("webhook job %s: unexpected error", job.id)
            attempt = webhooks.Attempt(
                webhooks.Result.RETRYABLE, f"internal error ({type(exc).__name__})"
            )
        try:
            status = queue.record_delivery(job, self.process.worker.id, attempt)
        finally:
            with self.process.lock:
                self.held.pop(job.id, None)
            self.seats.release()
        if status:
            with self.process.lock:
                if status == Job.Status.COMPLETED:
                    self.process.counters.completed += 1
                else:
                    self.process.counters.failed += 1
            logger.info(
                "webhook job %s attempt %d: %s%s",
                job.id,
                job.attempts,
                attempt.result,
                f" ({attempt.error})" if attempt.error else "",
            )

    def shut_down(self, deadline: float) -> None:
        """Let running deliveries finish until `deadline`; give the rest back unspent."""
        self.thread.join(max(deadline - time.monotonic(), 0))
        returned = 0
        while returned < self.size and (left := deadline - time.monotonic()) > 0:
            returned += self.seats.acquire(timeout=left)
        with self.process.lock:
            unfinished = list(self.held.values())
        for job in unfinished:
            if queue.release(job, self.process.worker.id):
                logger.info("webhook job %s given back unfinished", job.id)
