"""Concurrency against a slow engine: N documents through the fake Mistral server (0.5 s a call).

    .venv/bin/python -m bench.slow_engine --db sqlite --documents 500 --processes 2 --concurrency 16

The ceiling is processes x concurrency / latency (2 x 16 / 0.5 s = 64 docs/s); the original
design ran one job per worker process (2 / 0.5 s = 4 docs/s). Throughput is N / (last
completed_at - first started_at).
"""

from __future__ import annotations

import argparse
import time

from bench import common, service


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    fake, url = service.start_fake_mistral(args.latency, "slow-mistral-server")
    try:
        env = service.environment(args.db, f"slow-{args.db}", **service.mistral_env(url))
        service.setup_django(env, args.db)
        runs = [run_once(args, env, run) for run in range(args.runs)]
    finally:
        common.stop(fake)
    limit = args.processes * args.concurrency / args.latency
    common.emit(
        {
            "db": args.db,
            "documents": args.documents,
            "processes": args.processes,
            "concurrency": args.concurrency,
            "latency_s": args.latency,
            "limit_docs_per_s": limit,
            "original_design_docs_per_s": args.processes / args.latency,
            "runs": runs,
        }
    )


def run_once(args, env: dict, run: int) -> dict:
    from django.db import connection
    from django.db.models import Max, Min

    from jobs.models import Job
    from usage.models import UsageRecord

    for model in (UsageRecord, Job):
        model.objects.all().delete()
    pdf = service.small_pdf()
    service.stored_documents(args.documents, engine="mistral", content=pdf)
    connection.close()
    started = time.monotonic()
    workers = service.start_workers(
        env, args.processes, args.concurrency, f"slow-{args.db}-workers-run{run}"
    )
    try:
        common.wait_until(
            lambda: (
                Job.objects.exclude(status__in=["pending", "processing"]).count() >= args.documents
            ),
            timeout=300,
            interval=0.2,
        )
        wall = time.monotonic() - started
    finally:
        common.stop(workers)
    jobs = Job.objects.all()
    span = jobs.aggregate(first=Min("started_at"), last=Max("completed_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    completed = jobs.filter(status="completed").count()
    result = {
        "docs_per_s": args.documents / seconds,
        "drain_s": seconds,
        "wall_s_with_startup": wall,
        "completed": completed,
        "single_attempt": jobs.filter(attempts=1).count(),
        "ok": completed == args.documents,
    }
    print(f"run {run}: {result}", flush=True)
    return result


if __name__ == "__main__":
    main()
