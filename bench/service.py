"""Ilios as a user runs it, for the benchmark drivers: its database, gunicorn, workers, fakes.

Every process is started from the project's own virtualenv with `bench.settings` (the real
settings plus a no-op engine and a bare view), on loopback ports only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from bench import common
from fakes import hostile

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def environment(db: str, name: str, **extra) -> dict:
    """Environment for every process of one scenario: a fresh data directory and database."""
    data_dir = common.OUT / name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "API_KEY": "",
        "PYTHONUNBUFFERED": "1",
    }
    if db == "postgres":
        env["DATABASE_URL"] = common.pg_url()
    else:
        env.update(DATABASE_URL="", LOCAL_DB_PATH=str(data_dir / "ilios.db"))
    env.update({key: str(value) for key, value in extra.items()})
    return env


def setup_django(env: dict, db: str) -> None:
    """Point this process at the scenario's fresh database, migrated."""
    os.environ.update(env)
    if db == "postgres":
        common.pg_recreate()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{env['LOCAL_DB_PATH']}{suffix}").unlink(missing_ok=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def start_workers(env: dict, processes: int, concurrency: int, log_name: str, cwd=common.REPO):
    return common.start(
        [
            PYTHON,
            "manage.py",
            "runworkers",
            f"--processes={processes}",
            f"--concurrency={concurrency}",
        ],
        env=env,
        log=common.OUT / f"{log_name}.log",
        cwd=cwd,
    )


def start_gunicorn(env: dict, log_name: str, cwd=common.REPO) -> tuple:
    """gunicorn exactly as `make run` starts it (gunicorn.conf.py), on a free loopback port;
    `cwd` is the checkout whose code it runs (another worktree, for a baseline)."""
    port = common.free_port()
    process = common.start(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        env={**env, "PORT": str(port)},
        log=common.OUT / f"{log_name}.log",
        cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    common.wait_for_http(url + "/bench/bare", timeout=60)
    return process, url


def start_fake_mistral(latency: float, log_name: str) -> tuple:
    port = common.free_port()
    process = common.start(
        [
            PYTHON,
            "-m",
            "fakes.mistral_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        log=common.OUT / f"{log_name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    common.wait_for_http(url + "/v1/files/x/url", timeout=30)
    return process, url


def start_moto(log_name: str) -> tuple:
    """A moto S3 server on loopback with an empty bucket; (process, the storage's environment)."""
    port = common.free_port()
    process = common.start(
        [str(BIN / "moto_server"), "-p", str(port)], log=common.OUT / f"{log_name}.log"
    )
    common.wait_for_http(f"http://127.0.0.1:{port}/", timeout=30)
    env = {
        "S3_BUCKET": "ilios-bench",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
    }
    s3_client(env).create_bucket(Bucket=env["S3_BUCKET"])
    return process, env


def s3_client(env: dict):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )


def mistral_env(url: str) -> dict:
    return {"MISTRAL_API_KEY": "bench", "MISTRAL_SERVER_URL": url, "OCR_ENGINE": "mistral"}


def small_pdf(pages: int = 1, text: str = "Ilios benchmark") -> bytes:
    """A valid PDF of `pages` pages with a line of text each, written by hand (no dependency)."""
    return hostile.pdf_with_page(612, 792, f"{text} page {{page}}", pages=pages)


def stored_documents(n: int, *, engine: str, content: bytes, status: str = "pending", **fields):
    """N documents with their originals stored; pending ones are queued as a submission would."""
    from django.core.files.base import ContentFile

    from documents import storage
    from documents.models import Document
    from jobs.models import Job

    documents = []
    for i in range(n):
        document = Document(
            file_name=f"bench-{i}.pdf",
            mime_type="application/pdf",
            file_size=len(content),
            sha256="0" * 64,
            engine=engine,
            status=status,
            **fields,
        )
        document.original = storage.store_original(document.id, ContentFile(content))
        documents.append(document)
    for document in documents:
        document.save(force_insert=True)
    if status == "pending":
        Job.objects.bulk_create([Job(document=d, scheduled_at=d.created_at) for d in documents])
    return documents


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in text.split()]
    return []


def multipart(fields: dict, file_field: str, file_name: str, content: bytes) -> tuple:
    """(body, content type) of a multipart/form-data request with one file."""
    boundary = "----ilios-bench-boundary"
    parts = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{file_name}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def submit(url: str, content: bytes, name: str = "bench.pdf", api_key: str = "") -> dict:
    """POST /v1/documents; the parsed 202 body."""
    import json
    import urllib.request

    body, content_type = multipart({}, "file", name, content)
    headers = {"Content-Type": content_type}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(
        url + "/v1/documents", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202, response.status
        return json.loads(response.read())
