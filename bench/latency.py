"""Submit-to-claim latency on an idle queue, and how many queries an idle worker makes.

    .venv/bin/python -m bench.latency --db sqlite --documents 100

gunicorn (as `make run` starts it) and `runworkers` (2 processes x 16, every SQL statement
logged by bench/instrumented_worker.py) run idle for a while: the statements they make then,
per second and per worker process, are the idle cost. Then documents are POSTed to
/v1/documents one at a time, a pause between them so the queue is idle each time; the latency
of each is its job's started_at (the claim) minus its document's created_at (set while the
request is handled, just before the 202).
"""

from __future__ import annotations

import argparse
import random
import time

from bench import common, service


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()

    query_log = common.OUT / f"latency-{args.db}-queries.log"
    query_log.unlink(missing_ok=True)
    fake, mistral = service.start_fake_mistral(0.0, f"latency-{args.db}-mistral")
    env = service.environment(
        args.db, f"latency-{args.db}", BENCH_QUERY_LOG=query_log, **service.mistral_env(mistral)
    )
    service.setup_django(env, args.db)
    web, url = service.start_gunicorn(env, f"latency-{args.db}-gunicorn")
    workers = common.start(
        [
            service.PYTHON,
            "-m",
            "bench.instrumented_worker",
            f"--processes={args.processes}",
            "--concurrency=16",
        ],
        env=env,
        log=common.OUT / f"latency-{args.db}-workers.log",
    )
    try:
        time.sleep(3)  # start-up: registration, statistics, engine warm-up
        idle_from = time.time()
        time.sleep(args.idle_seconds)
        idle_to = time.time()
        idle = [
            line
            for line in query_log.read_text().splitlines()
            if idle_from <= float(line.split()[0]) < idle_to
        ]
        pdf = service.small_pdf()
        ids = []
        for _ in range(args.documents):
            ids.append(service.submit(url, pdf)["id"])
            time.sleep(random.uniform(0.15, 0.3))
        latencies = claim_latencies(ids)
    finally:
        common.stop(workers)
        common.stop(web)
        common.stop(fake)
    ms = [value * 1000 for value in latencies]
    common.emit(
        {
            "db": args.db,
            "documents": args.documents,
            "claimed": len(ms),
            "p50_ms": common.percentile(ms, 50),
            "p90_ms": common.percentile(ms, 90),
            "p99_ms": common.percentile(ms, 99),
            "max_ms": max(ms) if ms else None,
            "latencies_ms": [round(value, 1) for value in ms],
            "idle_queries_per_s": len(idle) / (idle_to - idle_from),
            "idle_queries_per_s_per_process": len(idle) / (idle_to - idle_from) / args.processes,
            "idle_statements": sorted({" ".join(line.split()[2:]) for line in idle}),
        }
    )


def claim_latencies(ids: list[str]) -> list[float]:
    from jobs.models import Job

    common.wait_until(
        lambda: (
            Job.objects.filter(document_id__in=ids, started_at__isnull=False).count() == len(ids)
        ),
        timeout=60,
    )
    jobs = Job.objects.filter(document_id__in=ids).select_related("document")
    return [(job.started_at - job.document.created_at).total_seconds() for job in jobs]


if __name__ == "__main__":
    main()
