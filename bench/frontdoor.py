"""The front door under load: sequential submits while the workers are busy converting.

    .venv/bin/python -m bench.frontdoor --submits 200 --baseline 8becd83

For each checkout (this one, and a baseline commit checked out as a git worktree under
bench/out/) and each storage (local disk, then S3 on a moto server), on a fresh SQLite
database: gunicorn (as `make run`, an API key required), a backlog of documents submitted,
then `runworkers --processes 2 --concurrency 16` converting them through the fake Mistral
server answering after 0.5 s (the slow-engine setup: every seat busy, group commits on the
database's write lock all the while). Then one PDF page is POSTed to /v1/documents `--submits`
times, one at a time: latency = the client's time from sending to the 202. With S3, a bare PUT
of the same bytes (boto3, from this process, to the same moto server) is timed before each
submit, so the submit's cost beyond the storage write itself is read on the same noisy machine
at the same moment. The backlog is checked to outlast the submits (the workers never idled).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import common, service

# The last commit before the front door was made fast (issue 14, part 5).
BASELINE = "8becd83"
API_KEY = "bench-frontdoor-key-0123456789"


def checkout(ref: str) -> Path:
    """A worktree of `ref` under bench/out/ (removed again by `main` once measured)."""
    commit = git("rev-parse", f"{ref}^{{commit}}")
    path = common.OUT / f"baseline-{commit[:10]}"
    git("worktree", "prune")
    if not (path / "manage.py").exists():
        git("worktree", "add", "--detach", str(path), commit)
    return path


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=common.REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def jobs(database: Path, status: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM jobs_job WHERE status = ?", [status]).fetchone()[0]


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (/proc/<pid>/stat, in clock ticks)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def scenario(trees: dict, storage: str, storage_env: dict, mistral: str, args) -> dict:
    """Every checkout's gunicorn at once, on one database whose workers are all busy; their
    submits alternate (the order flipped each round), so each meets the same load."""
    name = f"frontdoor-{storage}"
    shutil.rmtree(common.OUT / name, ignore_errors=True)
    env = service.environment(
        "sqlite", name, API_KEY=API_KEY, **service.mistral_env(mistral), **storage_env
    )
    subprocess.run(
        [service.PYTHON, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        env={**os.environ, **env},
        cwd=common.REPO,
        check=True,
    )
    database = Path(env["LOCAL_DB_PATH"])
    pdf = service.small_pdf()
    s3 = service.s3_client(storage_env) if storage_env else None
    webs, workers = {}, None
    try:
        for label, tree in trees.items():
            webs[label] = service.start_gunicorn(env, f"{name}-{label}-gunicorn", cwd=tree)
        some_url = webs["current"][1]
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda _: service.submit(some_url, pdf, api_key=API_KEY), range(args.backlog)
                )
            )
        workers = service.start_workers(env, 2, 16, f"{name}-workers")
        common.wait_until(lambda: jobs(database, "processing") >= 32, timeout=120)
        for _, url in webs.values():
            for _ in range(20):  # every gunicorn thread's connection opened, code paths warm
                service.submit(url, pdf, api_key=API_KEY)
        submits = {label: [] for label in webs}
        puts = []
        cpu_before = {
            label: cpu_seconds(service.children(web.pid)) for label, (web, _) in webs.items()
        }
        order = list(webs)
        for i in range(args.submits):
            if s3:
                started = time.perf_counter()
                s3.put_object(Bucket=storage_env["S3_BUCKET"], Key=f"bench-put/{i}", Body=pdf)
                puts.append((time.perf_counter() - started) * 1000)
            for label in order if i % 2 else reversed(order):
                started = time.perf_counter()
                service.submit(webs[label][1], pdf, api_key=API_KEY)
                submits[label].append((time.perf_counter() - started) * 1000)
        cpu = {
            label: cpu_seconds(service.children(web.pid)) - cpu_before[label]
            for label, (web, _) in webs.items()
        }
        backlog_left = jobs(database, "pending")
    finally:
        if workers:
            common.stop(workers)
        for web, _ in webs.values():
            common.stop(web)
    result = {
        label: {
            "submit_p50_ms": common.percentile(times, 50),
            "submit_p99_ms": common.percentile(times, 99),
            "api_cpu_ms_per_submit": cpu[label] * 1000 / args.submits,
        }
        for label, times in submits.items()
    }
    result["backlog_left"] = backlog_left
    result["workers_busy"] = backlog_left > 0
    if puts:
        result["put_p50_ms"] = common.percentile(puts, 50)
        result["put_p99_ms"] = common.percentile(puts, 99)
        for label in submits:
            result[label]["submit_minus_put_p50_ms"] = (
                result[label]["submit_p50_ms"] - result["put_p50_ms"]
            )
    if "baseline" in result:
        result["p50_ratio"] = (
            result["baseline"]["submit_p50_ms"] / result["current"]["submit_p50_ms"]
        )
    print(storage, result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1500)
    parser.add_argument("--baseline", default=BASELINE, help="a git ref; empty: no baseline")
    parser.add_argument("--storages", default="local,s3")
    args = parser.parse_args()

    trees = {"current": common.REPO}
    if args.baseline:
        trees["baseline"] = checkout(args.baseline)
    fake, mistral = service.start_fake_mistral(0.5, "frontdoor-mistral")
    moto, s3 = service.start_moto("frontdoor-moto")
    results = {"submits": args.submits, "baseline": args.baseline}
    try:
        for storage in args.storages.split(","):
            results[storage] = scenario(
                trees, storage, s3 if storage == "s3" else {}, mistral, args
            )
    finally:
        common.stop(moto)
        common.stop(fake)
        if "baseline" in trees:
            git("worktree", "remove", "--force", str(trees["baseline"]))
    common.emit(results)


if __name__ == "__main__":
    main()
