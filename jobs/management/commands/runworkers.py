"""`manage.py runworkers`: WORKER_COUNT processes, each converting up to MAX_CONCURRENT_JOBS
documents at once.

The parent only supervises: it forks the worker processes, forwards SIGTERM/SIGINT to them and
restarts one that dies, waiting longer each time children keep dying young. Each worker process
claims as many jobs as it has free seats, runs them on a thread pool (conversions mostly wait on
the network or on C code that releases the GIL), commits finished ones in groups, heartbeats
into its Worker row, and recovers other workers' orphans and sweeps leftover files now and then
(the shape of healthchecks' `sendalerts`: signal handlers set a flag, a semaphore of seats feeds
a thread pool). Webhook deliveries run beside the conversions in the same shape, on seats,
claims and threads of their own (`Lane`), and so do the steps of batches sent to Mistral's Batch
API (`jobs.mistral_batches`).

A database outage (a restart, dropped connections, a host cut off) does not kill a worker
process: each thread drops its broken connection and retries with backoff, and finished results
are kept until they can be recorded (see `WorkerProcess.write`).
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from queue import SimpleQueue
from typing import TypeVar

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connections

from documents import conversion, engines, leftovers, retention, storage
from documents.engines.base import ConversionError, ConversionResult, EngineUnavailable
from ilios import idempotency, metrics
from jobs import db, mistral_batches, queue, webhooks
from jobs import payload as job_payload
from jobs.models import Job, Worker

logger = logging.getLogger("ilios.worker")

T = TypeVar("T")

# A child that dies sooner than this after its start died young: the next restart waits twice
# as long as the last (1 s, 2 s, 4 s … at most a minute), so a child that cannot start (its
# database down, its disk full) is retried ever more calmly instead of once a second.
DIED_YOUNG_SECONDS = 60.0
RESTART_DELAYS = (1.0, 60.0)  # first and longest wait before a restart
# A worker thread's waits between attempts while the database is unreachable.
OUTAGE_DELAYS = (0.5, 5.0)
# Mistral batches a worker process takes a step of at once: each step is a few API calls, and
# a batch waits in the queue, not on a seat, between them.
MISTRAL_BATCH_SEATS = 2
# Stored originals no document references are looked for at most this often per process.
ORIGINALS_SWEEP_SECONDS = 3600.0
# A delivery attempt's outcome in the metrics, by the status its job was left in.
DELIVERY_OUTCOMES = {
    Job.Status.COMPLETED: "delivered",
    Job.Status.PENDING: "retrying",
    Job.Status.FAILED: "failed",
}


class Backoff:
    """Waits that double with each failure in a row, up to the longest, and start over after a
    success."""

    def __init__(self, first: float, longest: float):
        self.first, self.longest = first, longest
        self.failures = 0

    def failed(self) -> float:
        """Count a failure; returns how long to wait before the next attempt."""
        delay = min(self.first * 2**self.failures, self.longest)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        self.failures = 0


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
        self.children: dict[int, float] = {}  # pid -> when it started (monotonic)
        self.restarts = Backoff(*RESTART_DELAYS)
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        # A database no process can open (a wrong DB_ENCRYPTION_KEY) stops start-up here, once,
        # rather than every child as it is restarted; an outage the children wait out.
        with contextlib.suppress(DatabaseError):
            connections["default"].ensure_connection()
        connections.close_all()  # children must not share the parent's database connections
        metrics.forget_dead_processes()
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
            lived = time.monotonic() - self.children.pop(pid, time.monotonic())
            metrics.forget(pid)
            if not self.stopping:
                self.restart_after(pid, status, lived)
        logger.info("all worker processes stopped")

    def restart_after(self, pid: int, status: int, lived: float) -> None:
        """Replace a child that died, after a wait that grows while children keep dying young.

        The wait is spent in short sleeps, so a SIGTERM meanwhile stops the supervisor at once.
        """
        if lived >= DIED_YOUNG_SECONDS:
            self.restarts.succeeded()
        delay = self.restarts.failed()
        logger.error(
            "worker process %d exited (status %d) after %.1f s; restarting it in %g s",
            pid,
            status,
            lived,
            delay,
        )
        restart_at = time.monotonic() + delay
        while not self.stopping and time.monotonic() < restart_at:
            time.sleep(0.05)
        if not self.stopping:
            self.spawn()

    def on_signal(self, signum, frame) -> None:
        """Only flags and forwards: the wait loop does the rest."""
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def spawn(self) -> None:
        pid = os.fork()
        if pid:
            self.children[pid] = time.monotonic()
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
        self.signalled = False  # set by on_signal before `stopping`, which it sets only once
        self.lock = threading.Lock()  # guards `held` and `counters`
        self.held: dict[int, Job] = {}  # claimed, outcome not yet recorded
        self.counters = queue.Counters()
        self.lost = False
        self.outage = Backoff(*OUTAGE_DELAYS)  # the main thread's, while claims fail
        self.grace_ends: float | None = None  # set on shutdown: writes stop retrying then
        self.next_maintenance = time.monotonic() + random.uniform(0, settings.MAINTENANCE_INTERVAL)
        self.next_originals_sweep = 0.0  # with the first maintenance
        self.lanes = (
            Lane(self, Job.Type.WEBHOOK, settings.WEBHOOK_CONCURRENCY, self.deliver),
            Lane(self, Job.Type.MISTRAL_BATCH, MISTRAL_BATCH_SEATS, self.advance_mistral_batch),
        )

    def on_signal(self, signum, frame) -> None:
        """Sets the flag, once. The handler runs on the main thread between two bytecodes: a
        second SIGTERM (a process gets two when its group is signalled and the supervisor
        forwards one) could land inside the first's `stopping.set()`, and setting it again
        there would wait forever on the lock the first holds."""
        if not self.signalled:
            self.signalled = True
            self.stopping.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        self.remove_stale_temp_files()
        self.warm_up()
        if not self.join():
            return 0
        logger.info("worker %s started (pid %d)", self.worker.id, os.getpid())
        storage.warn_when_unavailable()  # here, not in the parent: no S3 client crosses a fork
        threading.Thread(target=self.heartbeat, daemon=True).start()
        recorder = threading.Thread(target=self.record_results, daemon=True)
        recorder.start()
        for lane in self.lanes:
            lane.start()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="job")
        while not self.stopping.is_set():
            try:
                self.maintain_when_due()
                claim_and_start(
                    self.seats,
                    lambda seats: queue.claim(self.worker.id, seats),
                    self.held,
                    self.lock,
                    pool,
                    self.process,
                )
            except db.UNAVAILABLE as exc:
                wait_for_database(self.outage, self.stopping, exc, "claiming")
            else:
                self.database_reachable()
        self.shut_down(recorder)
        pool.shutdown(wait=False, cancel_futures=True)
        return 1 if self.lost else 0

    def remove_stale_temp_files(self) -> None:
        """At start, before anything else: a worker killed earlier may have left its local
        copies behind (and an earlier version, decrypted copies)."""
        try:
            leftovers.remove_stale_temp_files()
        except Exception:
            logger.exception("could not sweep the temp directory")

    def join(self) -> bool:
        """Register this worker and subscribe to wake-ups, waiting out a database outage;
        False when stopped first.

        A host may start while the database restarts or its link is down. Crashing instead
        would have the supervisor restart the process again and again, ever more slowly, so
        that the host would join late, minutes after the database was back.
        """
        worker = None
        while not self.stopping.is_set():
            try:
                worker = worker or queue.register_worker(self.concurrency)
                queue.refresh_statistics()
                queue.listen_for_work()
            except db.UNAVAILABLE as exc:
                wait_for_database(self.outage, self.stopping, exc, "starting")
            else:
                self.worker = worker
                return True  # the first claim ends the outage (`database_reachable`)
        return False

    def warm_up(self) -> None:
        """Build the default engine before the first claim, not in the first job's threads.

        Engines are built on first use; left to the first jobs, every pool thread would build
        its own at once (an SDK client, its imports) and the first batch would take seconds.
        """
        try:
            engines.get_engine(engines.resolve(None))
        except Exception:
            logger.exception("the default engine could not be built; jobs will report why")

    def database_reachable(self) -> None:
        """After an outage, put off recovering orphans for WORKER_DEAD_AFTER.

        No worker could heartbeat during the outage; judged at once, all of them would look
        dead, and every in-flight conversion would be thrown away and run again (paid twice).
        """
        if self.outage.failures:
            logger.info("database reachable again after %d failed attempt(s)", self.outage.failures)
            self.outage.succeeded()
            self.next_maintenance = max(
                self.next_maintenance, time.monotonic() + settings.WORKER_DEAD_AFTER
            )

    def process(self, job: Job) -> None:
        """Convert one document (in a pool thread); the recorder commits a success."""
        try:
            result = conversion.run(queue.document_of(job), job_payload.options(job.payload))
        except EngineUnavailable as exc:
            self.record_failure(job, str(exc), retryable=True, retry_after=exc.retry_after)
        except ConversionError as exc:
            self.record_failure(job, str(exc), retryable=False)
        except storage.StorageError as exc:
            self.record_failure(job, str(exc.detail), retryable=True)
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
            recorded = self.write(
                f"{len(batch)} finished job(s)",
                lambda: {job.id for job in queue.complete_many(self.worker.id, batch)},
            )
        except Exception:
            logger.exception("recording %d finished job(s) failed", len(batch))
            recorded = None
        # Not recorded: the jobs stay processing; orphan recovery retries them after
        # JOB_TIMEOUT (or once this worker is gone), and they are billed once.
        recorded = recorded or set()
        for job, _ in batch:
            if job.id not in recorded:
                logger.warning("job %s: result not recorded (job lost or error)", job.id)
        with self.lock:
            self.counters.completed += len(recorded)
            for job, _ in batch:
                self.held.pop(job.id, None)
        self.seats.release(len(batch))

    def deliver(self, job: Job) -> bool | None:
        """One attempt at one webhook delivery (in a lane's thread), recorded at once."""
        try:
            attempt = webhooks.send(job)
        except Exception as exc:
            logger.exception("webhook job %s: unexpected error", job.id)
            attempt = webhooks.Attempt(
                webhooks.Result.RETRYABLE, f"internal error ({type(exc).__name__})"
            )
        status = self.write(
            f"webhook job {job.id}'s attempt",
            lambda: queue.record_delivery(job, self.worker.id, attempt),
        )
        if not status:
            return None
        metrics.DELIVERIES.labels(DELIVERY_OUTCOMES[status]).inc()
        logger.info(
            "webhook job %s attempt %d: %s%s",
            job.id,
            job.attempts,
            attempt.result,
            f" ({attempt.error})" if attempt.error else "",
        )
        return status == Job.Status.COMPLETED

    def advance_mistral_batch(self, job: Job) -> bool | None:
        """One step of a batch through Mistral's Batch API (in a lane's thread), recorded at
        once (`jobs.mistral_batches`)."""
        try:
            status = self.write(
                f"Mistral batch job {job.id}'s step",
                lambda: mistral_batches.advance(job, self.worker.id),
            )
        except Exception as exc:
            logger.exception("Mistral batch job %s: unexpected error", job.id)
            error = f"internal error ({type(exc).__name__})"
            status = self.write(
                f"Mistral batch job {job.id}'s failed attempt",
                lambda: queue.fail(job, self.worker.id, error, retryable=True),
            )
        if status in (Job.Status.COMPLETED, Job.Status.FAILED):
            logger.info("Mistral batch job %s %s", job.id, status)
            return status == Job.Status.COMPLETED
        return None

    def record_failure(self, job, error, *, retryable, retry_after=None) -> None:
        try:
            status = self.write(
                f"job {job.id}'s failed attempt",
                lambda: queue.fail(
                    job, self.worker.id, error, retryable=retryable, retry_after=retry_after
                ),
            )
        finally:
            with self.lock:
                self.held.pop(job.id, None)
            self.seats.release()
        if status:
            with self.lock:
                self.counters.failed += 1
            logger.info("job %s attempt %d failed (%s): %s", job.id, job.attempts, status, error)

    def write(self, what: str, write: Callable[[], T]) -> T | None:
        """Run one of this worker's writes through a database outage; None if it gave up.

        An outcome is worth keeping: its conversion may have taken minutes and been paid for.
        While the database is unreachable the write is retried with backoff in the thread that
        needs it (the job keeps its seat, so nothing new is claimed meanwhile), each attempt on
        a fresh connection, until it succeeds, or until the shutdown grace is over: the job is
        then left processing, and orphan recovery runs it again elsewhere, billed once. If
        others declared this worker dead meanwhile, the queue refuses its late writes.
        """
        backoff = Backoff(*OUTAGE_DELAYS)
        while True:
            try:
                return write()
            except db.UNAVAILABLE as exc:
                db.drop_connection()
                delay = backoff.failed()
                if self.grace_ends is not None:
                    delay = min(delay, self.grace_ends - time.monotonic())
                if delay <= 0:
                    logger.error("database unavailable (%s); %s not written", exc, what)
                    return None
                logger.warning(
                    "database unavailable (%s); %s kept, retrying in %g s", exc, what, delay
                )
                time.sleep(delay)

    def heartbeat(self) -> None:
        while not self.stopping.wait(settings.HEARTBEAT_INTERVAL):
            try:
                alive = queue.heartbeat(self.worker.id, self.counters)
            except db.UNAVAILABLE as exc:
                db.drop_connection()
                logger.warning("heartbeat failed: database unavailable (%s)", exc)
                continue
            except Exception:
                logger.exception("heartbeat failed")
                continue
            if not alive:
                logger.error("worker %s was declared dead; stopping", self.worker.id)
                self.lost = True
                self.stopping.set()

    def maintain_when_due(self) -> None:
        """Recover orphans, apply retention and sweep leftover files every MAINTENANCE_INTERVAL;
        stored originals, which takes a listing of the whole storage, and direct uploads never
        completed (a scan of the documents), once an hour."""
        if time.monotonic() < self.next_maintenance:
            return
        self.next_maintenance = time.monotonic() + settings.MAINTENANCE_INTERVAL
        try:
            queue.recover_orphans()
            retention.archive_expired()
            idempotency.purge_expired()
            queue.refresh_statistics()
            leftovers.remove_stale_temp_files()
            if time.monotonic() >= self.next_originals_sweep:
                self.next_originals_sweep = time.monotonic() + ORIGINALS_SWEEP_SECONDS
                leftovers.remove_abandoned_uploads()
                leftovers.remove_unreferenced_originals()
        except db.UNAVAILABLE:
            raise
        except Exception:
            logger.exception("maintenance failed")

    def shut_down(self, recorder: threading.Thread) -> None:
        """Let running jobs finish within SHUTDOWN_GRACE, give the rest back, then stop.

        Every seat back means every claimed job's outcome is committed. With the database
        down, writes are retried until the grace ends, then left to orphan recovery.
        """
        self.grace_ends = deadline = time.monotonic() + settings.SHUTDOWN_GRACE
        self.write(
            "the worker's stopping state",
            lambda: queue.mark_worker(self.worker.id, Worker.Status.STOPPING),
        )
        returned = 0
        while returned < self.concurrency and (left := deadline - time.monotonic()) > 0:
            returned += self.seats.acquire(timeout=left)
        self.finished.put(None)  # the recorder records what has finished, then ends
        recorder.join()
        with self.lock:
            unfinished = list(self.held.values())
        for job in unfinished:
            if self.write(f"job {job.id}'s release", partial(queue.release, job, self.worker.id)):
                logger.info("job %s given back unfinished", job.id)
        for lane in self.lanes:
            lane.shut_down(deadline)
        self.write(
            "the worker's stopped state",
            lambda: queue.mark_worker(self.worker.id, Worker.Status.STOPPED, self.counters),
        )
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


def claim_and_start(
    seats: threading.BoundedSemaphore,
    claim: Callable[[int], list[Job]],
    held: dict[int, Job],
    lock: threading.Lock,
    pool: ThreadPoolExecutor,
    run: Callable[[Job], None],
) -> None:
    """Take every free seat, claim that many jobs and run each on the pool; idle, wait for a
    submission. The seats no job was found for go back, also when the claim fails."""
    taken = take_free_seats(seats)
    if not taken:
        return
    token = queue.wake_token()
    jobs: list[Job] = []
    try:
        jobs = claim(taken)
    finally:
        if len(jobs) < taken:
            seats.release(taken - len(jobs))
    if not jobs:
        queue.wait_for_work(token)
        return
    with lock:
        held.update((job.id, job) for job in jobs)
    for job in jobs:
        pool.submit(run, job)


def wait_for_database(
    backoff: Backoff, stopping: threading.Event, exc: Exception, doing: str
) -> None:
    """A claiming thread's query failed for want of the database: drop the thread's connection
    and wait, longer each time (a stop ends the wait)."""
    db.drop_connection()
    delay = backoff.failed()
    logger.warning("database unavailable (%s); %s again in %g s", exc, doing, delay)
    stopping.wait(delay)


class Lane:
    """Jobs of one other type beside a worker process's conversions, on seats, claims and
    threads of their own: webhook deliveries (WEBHOOK_CONCURRENCY seats) and Mistral batches
    (MISTRAL_BATCH_SEATS).

    A receiver that answers slowly (or not at all, until WEBHOOK_TIMEOUT) holds one of the
    delivery seats, never a conversion's, and a backlog of conversions never delays a delivery
    or a look at a Mistral batch job. The shape is the conversions': a thread claims as many
    jobs as there are free seats; each job's pool thread runs `run`, which records the job's
    outcome itself and says what to count (True: a job completed, False: an attempt failed,
    None: neither), then gives its seat back. The worker's `stopping` flag stops it too.
    """

    def __init__(
        self,
        process: WorkerProcess,
        job_type: Job.Type,
        size: int,
        run: Callable[[Job], bool | None],
    ):
        self.process = process
        self.job_type = job_type
        self.size = size
        self.run = run
        self.seats = threading.BoundedSemaphore(size)
        self.held: dict[int, Job] = {}  # claimed, outcome not yet recorded (under process.lock)
        self.thread = threading.Thread(target=self.claim_jobs, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def claim_jobs(self) -> None:
        queue.listen_for_work()
        pool = ThreadPoolExecutor(self.size, thread_name_prefix=self.job_type)
        stopping = self.process.stopping
        outage = Backoff(*OUTAGE_DELAYS)
        while not stopping.is_set():
            try:
                claim_and_start(
                    self.seats,
                    lambda seats: queue.claim(self.process.worker.id, seats, self.job_type),
                    self.held,
                    self.process.lock,
                    pool,
                    self.work,
                )
            except db.UNAVAILABLE as exc:
                wait_for_database(outage, stopping, exc, f"claiming {self.job_type} jobs")
            except Exception:
                logger.exception("claiming %s jobs failed", self.job_type)
                stopping.wait(1.0)
            else:
                outage.succeeded()
        pool.shutdown(wait=False, cancel_futures=True)

    def work(self, job: Job) -> None:
        """Run one job (in a pool thread); its outcome is recorded by `run`."""
        try:
            completed = self.run(job)
        finally:
            with self.process.lock:
                self.held.pop(job.id, None)
            self.seats.release()
        if completed is not None:
            with self.process.lock:
                if completed:
                    self.process.counters.completed += 1
                else:
                    self.process.counters.failed += 1

    def shut_down(self, deadline: float) -> None:
        """Let running jobs finish until `deadline`; give the rest back unspent."""
        self.thread.join(max(deadline - time.monotonic(), 0))
        returned = 0
        while returned < self.size and (left := deadline - time.monotonic()) > 0:
            returned += self.seats.acquire(timeout=left)
        with self.process.lock:
            unfinished = list(self.held.values())
        for job in unfinished:
            release = partial(queue.release, job, self.process.worker.id)
            if self.process.write(f"{self.job_type} job {job.id}'s release", release):
                logger.info("%s job %s given back unfinished", self.job_type, job.id)
