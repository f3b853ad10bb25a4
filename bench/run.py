"""`make bench`: every benchmark, in one run, on this machine; results, table and chart.

    .venv/bin/python -m bench.run --quick     # a few minutes
    .venv/bin/python -m bench.run --full      # for publishing: more runs, longer loads

Peers run from their own virtualenvs under bench/.venvs/ (created on first use, git-ignored),
matplotlib too, so none of them becomes an Ilios dependency. Writes benchmarks/latest_results.json,
benchmarks/README_table.md and benchmarks/chart.png, and refreshes the block between
`<!-- bench:start -->` and `<!-- bench:end -->` in README.md when there is one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import common

PEER_NAMES = {"tasks": "django-tasks", "q2": "django-q2", "procrastinate": "procrastinate"}
ALL = (
    "queue",
    "encryption",
    "slow",
    "latency",
    "frontdoor",
    "api",
    "uploads",
    "quality",
    "hostile",
    "cache",
    "fanout",
)
PEERS_BY_DB = {"sqlite": ["tasks", "q2"], "postgres": ["tasks", "q2", "procrastinate"]}


def driver(python, module: str, *args, timeout: float = 900) -> dict:
    """Run one benchmark driver, `python -m bench.<module>`; its RESULT line, or an error record."""
    command = [str(python), "-m", f"bench.{module}", *map(str, args)]
    print("$", " ".join(command[1:]), flush=True)
    started = time.monotonic()
    log = common.OUT / f"driver-{module}-{'-'.join(map(str, args))}.log"
    try:
        done = subprocess.run(
            command, cwd=common.REPO, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        print(f"  timed out after {timeout:g} s", flush=True)
        return {"error": f"timed out after {timeout:g} s"}
    log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    try:
        result = common.read_result(done.stdout)
    except ValueError:
        print(f"  failed (exit {done.returncode}); see {log.relative_to(common.REPO)}", flush=True)
        return {"error": f"exit {done.returncode}: {done.stderr[-400:]}"}
    print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    return result


def queue_benchmarks(mode: dict, dbs: list[str]) -> dict:
    out = {}
    for db in dbs:
        for processes in (1, 2):
            key = f"{db}/p{processes}"
            ilios = driver(
                sys.executable,
                "ilios_queue",
                "--db",
                db,
                "--processes",
                processes,
                "--jobs",
                mode["jobs"],
                "--runs",
                mode["runs"],
            )
            entry = {"ilios": figure(ilios, "jobs_per_s")}
            entry["ilios"]["exactly_once"] = (
                all(run["check"]["ok"] for run in ilios.get("runs", [])) and "runs" in ilios
            )
            for peer in PEERS_BY_DB[db]:
                result = driver(
                    common.venv(peer),
                    "peers.drain",
                    "--peer",
                    peer,
                    "--db",
                    db,
                    "--processes",
                    processes,
                    "--jobs",
                    mode["jobs"],
                    "--runs",
                    mode["runs"],
                )
                entry[PEER_NAMES[peer]] = figure(result, "jobs_per_s")
            peers = [v["median"] for k, v in entry.items() if k != "ilios" and v.get("median")]
            if peers and entry["ilios"].get("median"):
                entry["ratio_vs_best_peer"] = round(entry["ilios"]["median"] / max(peers), 2)
            out[key] = entry
    return out


def encryption_cost(mode: dict, pairs: int) -> dict:
    """SQLCipher against plain SQLite in the queue benchmark (2 processes x 16), run in
    alternating pairs so that a noisy moment on the machine costs both sides alike; the figure
    is the median of the pairs' ratios."""
    runs = []
    for _ in range(pairs):
        rates = [
            driver(sys.executable, "ilios_queue", "--db", "sqlite", "--jobs", mode["jobs"], *flag)
            for flag in ([], ["--encrypted"])
        ]
        if any("runs" not in rate for rate in rates):
            return {"error": next(rate["error"] for rate in rates if "runs" not in rate)}
        plain, encrypted = (rate["runs"][0]["jobs_per_s"] for rate in rates)
        runs.append({"plain": plain, "encrypted": encrypted, "ratio": encrypted / plain})
    return {"ratio": common.summary([run["ratio"] for run in runs])["median"], "pairs": runs}


def figure(result: dict, key: str) -> dict:
    if "runs" not in result:
        return {"error": result.get("error", "no result")}
    return {**common.summary([run[key] for run in result["runs"]]), "details": result["runs"]}


def slow_engine(mode: dict, dbs: list[str]) -> dict:
    out = {}
    for db in dbs:
        result = driver(
            sys.executable,
            "slow_engine",
            "--db",
            db,
            "--documents",
            mode["documents"],
            "--runs",
            mode["runs"],
        )
        if "runs" not in result:
            out[db] = result
            continue
        entry = figure(result, "docs_per_s")
        entry.update(
            limit_docs_per_s=result["limit_docs_per_s"],
            original_design_docs_per_s=result["original_design_docs_per_s"],
            ratio_vs_limit=round(entry["median"] / result["limit_docs_per_s"], 3),
            ratio_vs_original_design=round(
                entry["median"] / result["original_design_docs_per_s"], 1
            ),
        )
        out[db] = entry
    return out


def latency(mode: dict, dbs: list[str]) -> dict:
    out = {}
    for db in dbs:
        result = driver(
            sys.executable, "latency", "--db", db, "--documents", mode["latency_documents"]
        )
        out[db] = result
    return out


def quality(runs: int) -> dict:
    """The local engine beside offline peers (bench/quality/peers.py): facts, pages/s, OCR."""
    print("$ -m bench.quality.peers", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.quality.peers", "--runs", str(runs)],
        cwd=common.REPO,
        timeout=3600,
    )
    if done.returncode:
        return {"error": f"bench.quality.peers exited {done.returncode}"}
    return json.loads((common.RESULTS / "quality.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", default=True)
    group.add_argument("--full", action="store_true")
    parser.add_argument(
        "--only",
        default=",".join(ALL),
        help="comma-separated subset of: " + ", ".join(ALL),
    )
    args = parser.parse_args()
    full = args.full
    mode = {
        "name": "full" if full else "quick",
        "jobs": 5000,
        "runs": 3 if full else 1,
        "documents": 500,
        "latency_documents": 200 if full else 60,
        "frontdoor_submits": 200,
        "api_seconds": 30 if full else 10,
        "upload_mib": 1024 if full else 256,
    }
    only = set(args.only.split(","))
    common.OUT.mkdir(parents=True, exist_ok=True)
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    dbs = ["sqlite", "postgres"] if common.pg_available() else ["sqlite"]

    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "machine": common.machine_info(),
        "databases": dbs,
    }
    started = time.monotonic()
    if "queue" in only:
        results["queue_throughput"] = queue_benchmarks(mode, dbs)
    if "encryption" in only:
        results["encrypted_queue"] = encryption_cost(mode, 5 if full else 3)
    if "slow" in only:
        results["slow_engine"] = slow_engine(mode, dbs)
    if "latency" in only:
        results["submit_to_claim"] = latency(mode, dbs)
    if "frontdoor" in only:
        results["front_door"] = driver(
            sys.executable, "frontdoor", "--submits", mode["frontdoor_submits"], timeout=1800
        )
    if "api" in only:
        results["api_load"] = driver(
            sys.executable, "api_load", "--db", "sqlite", "--seconds", mode["api_seconds"]
        )
    if "uploads" in only:
        results["uploads"] = driver(sys.executable, "uploads", "--mib", mode["upload_mib"])
    if "hostile" in only:
        results["hostile_inputs"] = driver(sys.executable, "hostile", timeout=2400)
    if "cache" in only:
        results["cached_rerun"] = driver(sys.executable, "cache", "--runs", 5 if full else 3)
    if "fanout" in only:
        results["fanout"] = driver(
            sys.executable, "fanout", "--runs", mode["runs"], "--no-merge", timeout=3600
        )
    if "quality" in only:
        results["local_engine_quality"] = quality(1 if mode["name"] == "quick" else 3)
    results["duration_s"] = round(time.monotonic() - started)

    from bench import report

    path = common.RESULTS / "latest_results.json"
    if only != set(ALL) and path.exists():
        # A subset refreshes its own figures; the others stay as last measured.
        results = {**json.loads(path.read_text()), **results}
    results["bars"] = report.bars(results)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = report.table(results)
    (common.RESULTS / "README_table.md").write_text(table)
    report.update_readme(common.REPO / "README.md", table)
    subprocess.run(
        [
            str(common.venv("tools")),
            "-m",
            "bench.chart",
            str(path),
            str(common.RESULTS / "chart.png"),
        ],
        cwd=common.REPO,
        check=False,
    )
    print(table)
    print(f"wrote {path.relative_to(common.REPO)} in {results['duration_s']} s")


if __name__ == "__main__":
    main()
