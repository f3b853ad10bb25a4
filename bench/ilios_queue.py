"""Queue throughput of Ilios: drain N ready jobs of the no-op engine with `runworkers`.

    .venv/bin/python -m bench.ilios_queue --db sqlite|postgres --processes 2 --jobs 5000
    .venv/bin/python -m bench.ilios_queue --db sqlite --encrypted ...   # SQLCipher, a fixed key

Each run starts from empty tables, inserts N documents with their pending jobs, starts
`manage.py runworkers --processes P --concurrency C` and waits until every job is completed.
Throughput is N / (last completed_at - first started_at), the same clock the peers are read
with. Then it checks that every job completed exactly once: one attempt each, one usage record
per document, every document completed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import common


def configure(db: str, data_dir: Path, encrypted: bool) -> dict:
    """Environment for this process and the workers it starts."""
    env = {"DJANGO_SETTINGS_MODULE": "bench.settings", "DATA_DIR": str(data_dir)}
    if db == "postgres":
        env.update(DATABASE_URL=common.pg_url())
    else:
        env.update(DATABASE_URL="", LOCAL_DB_PATH=str(data_dir / "ilios.db"))
    if encrypted:
        env.update(DB_ENCRYPTION_KEY="bench queue key")
    env.update(OCR_ENGINE="local", LOG_LEVEL="WARNING")
    os.environ.update(env)
    return env


def reset_database(db: str, data_dir: Path) -> None:
    if db == "postgres":
        common.pg_recreate()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data_dir / 'ilios.db'}{suffix}").unlink(missing_ok=True)


def seed(n: int) -> None:
    from django.utils import timezone

    from documents.models import Document
    from jobs.models import Job

    now = timezone.now()
    documents = [
        Document(
            file_name=f"noop-{i}.pdf",
            mime_type="application/pdf",
            file_size=1,
            sha256="0" * 64,
            original="bench/noop",
            engine="noop",
            created_at=now,
            expires_at=now + timezone.timedelta(days=30),
        )
        for i in range(n)
    ]
    Document.objects.bulk_create(documents, batch_size=500)
    Job.objects.bulk_create(
        [Job(document=d, priority=d.priority, scheduled_at=now) for d in documents],
        batch_size=500,
    )


def clear() -> None:
    from batches.models import Batch
    from documents.models import Document
    from jobs.models import Job, Worker
    from usage.models import UsageRecord

    for model in (UsageRecord, Job, Worker, Document, Batch):
        model.objects.all().delete()


def check_exactly_once(n: int) -> dict:
    from django.db.models import Count

    from documents.models import Document
    from jobs.models import Job
    from usage.models import UsageRecord

    jobs = Job.objects.all()
    report = {
        "jobs_completed": jobs.filter(status="completed").count(),
        "jobs_with_one_attempt": jobs.filter(attempts=1).count(),
        "usage_records": UsageRecord.objects.count(),
        "documents_billed_twice": UsageRecord.objects.values("document")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "documents_completed": Document.objects.filter(status="completed").count(),
    }
    report["ok"] = (
        report["jobs_completed"] == n
        and report["jobs_with_one_attempt"] == n
        and report["usage_records"] == n
        and report["documents_billed_twice"] == 0
        and report["documents_completed"] == n
    )
    return report


def drain(env: dict, n: int, processes: int, concurrency: int, log: Path, timeout: float) -> dict:
    from django.db import connection
    from django.db.models import Max, Min

    from jobs.models import Job

    clear()
    seed(n)
    connection.close()
    started = time.monotonic()
    workers = common.start(
        [
            sys.executable,
            "manage.py",
            "runworkers",
            f"--processes={processes}",
            f"--concurrency={concurrency}",
        ],
        env=env,
        log=log,
    )
    try:
        common.wait_until(
            lambda: Job.objects.filter(status="completed").count() >= n, timeout, interval=0.2
        )
        wall = time.monotonic() - started
    finally:
        common.stop(workers)
    span = Job.objects.aggregate(first=Min("started_at"), last=Max("completed_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    return {
        "jobs_per_s": n / seconds,
        "drain_s": seconds,
        "wall_s_with_startup": wall,
        "check": check_exactly_once(n),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--encrypted", action="store_true", help="SQLite with DB_ENCRYPTION_KEY")
    args = parser.parse_args()
    if args.encrypted and args.db != "sqlite":
        parser.error("--encrypted applies to --db sqlite")

    name = f"{args.db}-encrypted" if args.encrypted else args.db
    data_dir = common.OUT / f"queue-{name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = configure(args.db, data_dir, args.encrypted)
    reset_database(args.db, data_dir)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    runs = []
    for run in range(args.runs):
        log = common.OUT / f"queue-ilios-{name}-p{args.processes}-run{run}.log"
        runs.append(drain(env, args.jobs, args.processes, args.concurrency, log, args.timeout))
        print(f"run {run}: {runs[-1]}", flush=True)
    common.emit(
        {
            "system": "ilios",
            "db": args.db,
            "encrypted": args.encrypted,
            "processes": args.processes,
            "concurrency": args.concurrency,
            "jobs": args.jobs,
            "runs": runs,
        }
    )


if __name__ == "__main__":
    main()
