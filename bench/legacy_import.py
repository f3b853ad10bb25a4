"""`manage.py import_legacy` on a large database of the original service: time and peak memory.

    .venv/bin/python -m bench.legacy_import --documents 100000 [--db sqlite|postgres]

Writes a database the way the original does (`fakes.original_database`: its schema SQL, its
rows): documents with a few kilobytes of Markdown each and their usage, in batches of ten for
a tenth of them, three keys, some failed and some still pending. Then it imports it twice into
an empty Ilios database in a child process — the second run must import nothing — and reports
each run's wall time and the child's peak RSS. Memory is flat when the peak does not grow with
the number of documents: run it with --documents 10000 too and compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import common
from fakes.original_database import OriginalDatabase

KEYS = ("bench-key-one-0123456789", "bench-key-two-0123456789", "bench-key-three-012345678")
PARAGRAPH = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 8


def write_original(path: Path, documents: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    original = OriginalDatabase(path)
    db = original.connection
    pending = []
    batch_id = None
    for i in range(documents):
        if i % 1000 == 0:
            db.execute("BEGIN")
        key = KEYS[i % len(KEYS)]
        if i % 100 < 10 and i % 10 == 0:
            batch_id = original.create_batch(10, api_key=key)
        in_batch = batch_id if i % 100 < 10 else None
        document_id = original.create_document(f"doc-{i}.pdf", 50_000 + i, api_key=key)
        if in_batch:
            db.execute("UPDATE documents SET batch_id = ? WHERE id = ?", (in_batch, document_id))
        original.create_job(document_id)
        if i % 50 == 7:
            pending.append(document_id)
            db.execute(
                "UPDATE job_queue SET scheduled_at = unixepoch() + 86400 WHERE document_id = ?",
                (document_id,),
            )
        elif i % 50 == 3:
            job = original.claim_next_job()
            original.update_job_and_document_status(
                job["id"], document_id, "failed", error="OCR processing failed: timeout"
            )
        else:
            pages = 1 + i % 7
            markdown = f"# Document {i}\n\n" + "\n\n".join([PARAGRAPH] * pages)
            original.convert(document_id, markdown, pages, key)
        if in_batch and i % 10 == 9:
            original.update_batch_progress(in_batch)
        if i % 1000 == 999 or i == documents - 1:
            db.execute("COMMIT")
    original.close()


# manage.py, then this process's own peak RSS (a child's, so nothing else is counted).
MEASURED_MANAGE = (
    "import resource, sys; from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', *sys.argv[1:]]); "
    "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def import_once(path: Path, env: dict, log: Path) -> dict:
    started = time.monotonic()
    with log.open("w") as out:
        subprocess.run(
            [sys.executable, "-c", MEASURED_MANAGE, "import_legacy", str(path)],
            cwd=common.REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    wall = time.monotonic() - started
    lines = log.read_text().splitlines()
    peak = next(int(line.split()[1]) for line in lines if line.startswith("peak_rss_kib"))
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "summary": [line for line in lines if "[" not in line and not line.startswith("peak_rss")],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()

    data_dir = common.OUT / f"legacy-import-{args.db}"
    data_dir.mkdir(parents=True, exist_ok=True)
    original = common.OUT / f"legacy-original-{args.documents}.db"  # kept: it takes minutes
    if not original.exists():
        started = time.monotonic()
        write_original(original.with_suffix(".partial"), args.documents)
        original.with_suffix(".partial").rename(original)
        written = time.monotonic() - started
        print(f"wrote {original} ({original.stat().st_size / 2**20:.0f} MiB) in {written:.0f} s")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ilios.settings",
        "ILIOS_DOTENV": "false",
        "DATA_DIR": str(data_dir),
        "S3_BUCKET": "the-original-bucket",  # referenced, never reached
        "API_KEY": ",".join(KEYS),
        "LOG_LEVEL": "WARNING",
    }
    if args.db == "postgres":
        common.pg_recreate()
        env["DATABASE_URL"] = common.pg_url()
    else:
        env.update(DATABASE_URL="", LOCAL_DB_PATH=str(data_dir / "ilios.db"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data_dir / 'ilios.db'}{suffix}").unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=common.REPO, env=env, check=True
    )
    runs = [import_once(original, env, data_dir / f"import-run{run}.log") for run in (1, 2)]
    for run in runs:
        print(*run["summary"], sep="\n")
        print(f"wall {run['wall_s']} s, peak RSS {run['peak_rss_mib']} MiB\n", flush=True)
    common.emit(
        {
            "system": "ilios",
            "figure": "legacy_import",
            "db": args.db,
            "documents": args.documents,
            "original_mib": round(original.stat().st_size / 2**20),
            "runs": [{key: run[key] for key in ("wall_s", "peak_rss_mib")} for run in runs],
        }
    )


if __name__ == "__main__":
    main()
