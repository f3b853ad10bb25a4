"""`manage.py runworkers`: WORKER_COUNT processes, each converting up to MAX_CONCURRENT_JOBS
documents at once.

The parent only supervises: it forks the worker processes, forwards SIGTERM/SIGINT to them and
restarts one that dies. Each worker process claims as many jobs as it has free seats, runs them
on a thread pool (conversions mostly wait on the network or on C code that releases the GIL),
heartbeats into its Worker row, and recovers other workers' orphans now and then.
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

from documents import conversion, retention
from documents.engines.base import ConversionError, EngineUnavailable
from jobs import queue
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
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.stopping = threading.Event()
        self.seat_freed = threading.Condition()
        self.in_flight: dict[int, Job] = {}
        self.counters = queue.Counters()
        self.lost = False
        self.next_maintenance = time.monotonic() + random.uniform(0, settings.MAINTENANCE_INTERVAL)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        self.worker = queue.register_worker(self.concurrency)
        logger.info("worker %s started (pid %d)", self.worker.id, os.getpid())
        queue.listen()
        threading.Thread(target=self.heartbeat, daemon=True).start()
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
            for job in jobs:
                with self.seat_freed:
                    self.in_flight[job.id] = job
                pool.submit(self.process, job)
        self.shut_down()
        pool.shutdown(wait=False, cancel_futures=True)
        return 1 if self.lost else 0

    def free_seats(self) -> int:
        """Seats not taken by a running job; waits briefly for one when all are taken."""
        with self.seat_freed:
            if len(self.in_flight) >= self.concurrency:
                self.seat_freed.wait(timeout=1.0)
            return self.concurrency - len(self.in_flight)

    def process(self, job: Job) -> None:
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
            if queue.complete(job, self.worker.id, result):
                with self.seat_freed:
                    self.counters.completed += 1
            else:
                logger.warning("job %s finished after this worker lost it; result dropped", job.id)
        finally:
            with self.seat_freed:
                self.in_flight.pop(job.id, None)
                self.seat_freed.notify()

    def record_failure(self, job, error, *, retryable, retry_after=None) -> None:
        status = queue.fail(
            job, self.worker.id, error, retryable=retryable, retry_after=retry_after
        )
        if status:
            with self.seat_freed:
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
        except Exception:
            logger.exception("maintenance failed")

    def shut_down(self) -> None:
        """Let running jobs finish within SHUTDOWN_GRACE, give the rest back, then stop."""
        queue.mark_worker(self.worker.id, Worker.Status.STOPPING)
        deadline = time.monotonic() + settings.SHUTDOWN_GRACE
        with self.seat_freed:
            while self.in_flight and time.monotonic() < deadline:
                self.seat_freed.wait(timeout=max(0.0, deadline - time.monotonic()))
            unfinished = list(self.in_flight.values())
        for job in unfinished:
            if queue.release(job, self.worker.id):
                logger.info("job %s given back unfinished", job.id)
        queue.mark_worker(self.worker.id, Worker.Status.STOPPED, self.counters)
        logger.info("worker %s stopped", self.worker.id)
