"""Helpers shared by the benchmark drivers: paths, virtualenvs, databases, processes, statistics.

Only the standard library, so drivers running inside a peer's virtualenv can import it too.
Every driver runs as `python -m bench.<module>` from the repository root.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"  # scratch: databases, data directories, outputs, logs (git-ignored)
VENVS = BENCH / ".venvs"
RESULTS = REPO / "benchmarks"

# What each virtualenv under bench/.venvs/ holds: the peers and the tools the benchmarks compare
# against or plot with, none of which may become an Ilios dependency.
VENV_PACKAGES = {
    "tasks": [
        "Django>=5.2,<6",
        "psycopg[binary]",
        "django-tasks==0.12.0",
        "django-tasks-db==0.13.0",
    ],
    "q2": ["Django>=5.2,<6", "psycopg[binary]", "django-q2==1.11.1"],
    "procrastinate": ["Django>=5.2,<6", "psycopg[binary,pool]", "procrastinate==3.10.0"],
    "markitdown": ["markitdown[pdf]>=0.1,<0.2"],
    "pdftext": ["pdftext==0.7.1"],
    "tools": ["matplotlib", "pyinstrument", "py-spy"],
}

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_DB = os.environ.get("BENCH_PG_DB", "ilios_bench")


def venv(name: str, install: bool = True) -> Path:
    """The python of bench/.venvs/<name>, (re)created whenever its package list has changed."""
    path = VENVS / name
    python = path / "bin" / "python"
    marker = path / ".installed"
    wanted = "\n".join(VENV_PACKAGES[name])
    if not marker.exists() or marker.read_text() != wanted:
        if not install:
            raise SystemExit(f"{path} is missing or out of date (run without --skip-install)")
        print(f"creating bench/.venvs/{name}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *VENV_PACKAGES[name]], check=True
        )
        marker.write_text(wanted)
    return python


def pg_url(dbname: str = PG_DB) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def psql(sql: str, dbname: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", dbname, "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def pg_recreate(dbname: str = PG_DB) -> None:
    """Drop and create the benchmark database (never the test or default ones)."""
    assert dbname.startswith("ilios_bench"), dbname
    psql(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    psql(f"CREATE DATABASE {dbname}")


def pg_available() -> bool:
    try:
        psql("SELECT 1")
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def summary(runs: list[float]) -> dict:
    """A figure as the results file keeps it: every run, then median, min and max."""
    runs = [round(value, 3) for value in runs]
    return {
        "runs": runs,
        "median": round(statistics.median(runs), 3) if runs else None,
        "min": min(runs) if runs else None,
        "max": max(runs) if runs else None,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine_info() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["processor"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    with contextlib.suppress(Exception):
        info["postgresql"] = psql("SHOW server_version").strip()
    with contextlib.suppress(Exception):
        import sqlite3

        info["sqlite"] = sqlite3.sqlite_version
    return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start(args: list[str], *, env: dict | None = None, log: Path | None = None, cwd=REPO):
    """A background process in its own session, its output to `log` (or discarded)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """SIGTERM the process's group, then SIGKILL it if it has not ended in time."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


def wait_until(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def emit(result: dict) -> None:
    """Drivers print one JSON object as their last line of output; bench.run reads it."""
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def read_result(output: str) -> dict:
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise ValueError("the driver printed no RESULT line:\n" + output[-3000:])
