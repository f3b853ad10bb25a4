"""The API under load: wrk on loopback against gunicorn as `make run` starts it.

    .venv/bin/python -m bench.api_load --db sqlite --seconds 30 --connections 32

Requests/s and p99 for a bare Django view returning constant JSON (bench/urls.py, served by
the same gunicorn, through the same middleware: the ceiling of any Django endpoint here), for
GET /v1/documents/{id}/status, and for GET /v1/documents/{id} (the Markdown of a completed
20-page document). Then POST /v1/documents of a small PDF at full speed with workers running
(2 x 16, the fake Mistral server answering at once): requests/s and errors (non-2xx, socket).
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from bench import common, service

POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*all")
f:close()
"""


def wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(script)]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests_per_s": rps,
        "p99_ms": p99_ms,
        "requests": total,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def completed_document(pages: int = 20) -> str:
    from django.utils import timezone

    from documents.models import Document

    text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40
    content = "\n\n".join(f"# Page {i + 1}\n\n{text}" for i in range(pages))
    [document] = service.stored_documents(
        1, engine="mistral", content=service.small_pdf(pages), status="completed"
    )
    Document.objects.filter(id=document.id).update(
        content=content, pages=pages, processed_at=timezone.now()
    )
    return document.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    fake, mistral = service.start_fake_mistral(0.0, f"api-{args.db}-mistral")
    env = service.environment(args.db, f"api-{args.db}", **service.mistral_env(mistral))
    service.setup_django(env, args.db)
    document_id = completed_document()
    web, url = service.start_gunicorn(env, f"api-{args.db}-gunicorn")
    results = {}
    try:
        for name, path in (
            ("bare", "/bench/bare"),
            ("status", f"/v1/documents/{document_id}/status"),
            ("content", f"/v1/documents/{document_id}"),
        ):
            wrk(url + path, 2, args.connections)  # warm every gunicorn thread
            results[name] = wrk(url + path, args.seconds, args.connections)
            print(name, results[name], flush=True)
        body, content_type = service.multipart({}, "file", "small.pdf", service.small_pdf())
        body_file = common.OUT / "api-submit-body.bin"
        body_file.write_bytes(body)
        script = common.OUT / "api-submit.lua"
        script.write_text(POST_SCRIPT.format(content_type=content_type, body=body_file))
        workers = service.start_workers(env, 2, 16, f"api-{args.db}-workers")
        try:
            results["submit"] = wrk(url + "/v1/documents", args.seconds, args.connections, script)
        finally:
            common.stop(workers)
        print("submit", results["submit"], flush=True)
    finally:
        common.stop(web)
        common.stop(fake)
    results["status_vs_bare"] = (
        results["status"]["requests_per_s"] / results["bare"]["requests_per_s"]
    )
    common.emit(
        {"db": args.db, "seconds": args.seconds, "connections": args.connections, **results}
    )


if __name__ == "__main__":
    main()
