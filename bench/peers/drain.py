"""Queue throughput of a peer: drain N no-op tasks, run inside the peer's own virtualenv.

    bench/.venvs/<peer>/bin/python -m bench.peers.drain --peer tasks|q2|procrastinate \\
        --db sqlite|postgres --processes 2 --jobs 5000

Each run starts from a fresh database, enqueues N tasks through the peer's own API (in one
transaction), starts the peer's worker with P processes, and waits until all have succeeded.
Throughput is N / (last finish - first start), read from the peer's own timestamps, the same
clock Ilios is read with.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import common

PEER_PG_DB = "ilios_bench_peer"


def worker_commands(peer: str, processes: int) -> list[list[str]]:
    django = [sys.executable, "-m", "django"]
    if peer == "tasks":  # db_worker runs one task at a time: one process per worker
        return [
            django + ["db_worker", "--no-startup-delay", "--interval", "0.1", "--no-reload"]
            for _ in range(processes)
        ]
    if peer == "q2":  # one cluster with `workers` processes (set from PEER_PROCESSES)
        return [django + ["qcluster"]]
    if peer == "procrastinate":
        return [
            django + ["procrastinate", "worker", "--concurrency", "10"] for _ in range(processes)
        ]
    raise ValueError(peer)


def enqueue(peer: str, n: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        if peer == "tasks":
            from bench.peers.peer_project.noop import noop_task

            for _ in range(n):
                noop_task.enqueue()
        elif peer == "q2":
            from django_q.tasks import async_task

            for _ in range(n):
                async_task("bench.peers.peer_project.noop.noop_q2")
    if peer == "procrastinate":
        from bench.peers.peer_project.tasks import noop

        for start in range(0, n, 500):
            noop.batch_defer(*[{} for _ in range(min(500, n - start))])


def progress(peer: str) -> tuple[int, float | None]:
    """(tasks succeeded, seconds from first start to last finish)."""
    from django.db.models import Max, Min

    if peer == "tasks":
        from django_tasks_db.models import DBTaskResult

        done = DBTaskResult.objects.filter(status="SUCCESSFUL")
        span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
    elif peer == "q2":
        from django_q.models import Success

        done = Success.objects.all()
        span = done.aggregate(first=Min("started"), last=Max("stopped"))
    else:
        from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

        done = ProcrastinateJob.objects.filter(status="succeeded")
        events = ProcrastinateEvent.objects.all()
        span = {
            "first": events.filter(type="started").aggregate(t=Min("at"))["t"],
            "last": events.filter(type="succeeded").aggregate(t=Max("at"))["t"],
        }
    count = done.count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else None
    return count, seconds


def fresh_database(db: str, path: Path) -> None:
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    if db == "postgres":
        common.pg_recreate(PEER_PG_DB)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)


def alive(workers) -> bool:
    for worker in workers:
        if worker.poll() is not None:
            raise RuntimeError(f"a worker exited with status {worker.returncode}")
    return True


def drain_once(args, db_path: Path, run: int) -> dict:
    from django.db import connections

    fresh_database(args.db, db_path)
    enqueue(args.peer, args.jobs)
    connections.close_all()
    started = time.monotonic()
    workers = [
        common.start(
            command,
            env={**os.environ},
            log=common.OUT / f"queue-{args.peer}-{args.db}-p{args.processes}-run{run}-{i}.log",
        )
        for i, command in enumerate(worker_commands(args.peer, args.processes))
    ]
    try:
        common.wait_until(
            lambda: alive(workers) and progress(args.peer)[0] >= args.jobs,
            args.timeout,
            interval=0.25,
        )
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            common.stop(worker)
    count, seconds = progress(args.peer)
    return {
        "jobs_per_s": args.jobs / seconds,
        "drain_s": seconds,
        "wall_s_with_startup": wall,
        "check": {"succeeded": count, "ok": count == args.jobs},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", choices=("tasks", "q2", "procrastinate"), required=True)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    common.OUT.mkdir(parents=True, exist_ok=True)
    db_path = common.OUT / f"peer-{args.peer}.db"
    os.environ.update(
        PEER=args.peer,
        PEER_DB=common.pg_url(PEER_PG_DB) if args.db == "postgres" else str(db_path),
        PEER_PROCESSES=str(args.processes),
        DJANGO_SETTINGS_MODULE="bench.peers.peer_project.settings",
    )
    import django

    django.setup()
    runs = []
    for run in range(args.runs):
        runs.append(drain_once(args, db_path, run))
        print(f"run {run}: {runs[-1]}", flush=True)
    common.emit(
        {
            "system": args.peer,
            "db": args.db,
            "processes": args.processes,
            "jobs": args.jobs,
            "runs": runs,
        }
    )


if __name__ == "__main__":
    main()
