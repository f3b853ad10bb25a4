"""Run the original service itself (Bun) and record the database it writes, for the import tests.

Not part of `make test`: it needs a checkout of the original (`tobalo/ilios`, Apache-2.0) and Bun,
which the npm registry ships (`npm install bun` puts it in node_modules/.bin):

    npm install --prefix /tmp/bun bun
    (cd /path/to/tobalo-ilios && /tmp/bun/node_modules/.bin/bun install)
    .venv/bin/python scripts/record_original_database.py /path/to/tobalo-ilios \
        --bun /tmp/bun/node_modules/.bin/bun --out tests/fixtures/original-service.db

The original runs unchanged but for one line: its Mistral client is pointed at Ilios's fake
Mistral server (`serverURL`), since it has no setting for that. Its bucket is moto in server
mode. Two API keys submit through the original's own HTTP API: a queued document, a synchronous
conversion, a batch of two, and one more queued document the original is killed before it
converts. What the tests then expect of the import is in tests/api/test_import_legacy.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fakes.mistral_server import FakeMistralServer  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"
KEYS = ("original-key-alpha-0123456789", "original-key-bravo-9876543210")
BUCKET = "original-bucket"
PATCH = (
    "new Mistral({ apiKey })",
    "new Mistral({ apiKey, serverURL: process.env.MISTRAL_SERVER_URL })",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url: str, key: str, files: list[tuple[str, str]] = (), fields: dict | None = None) -> dict:
    """A multipart POST (or a GET with no files) with curl, as the seeds' examples do."""
    args = ["curl", "-sS", "-H", f"Authorization: Bearer {key}"]
    for field, name in files:
        args += ["-F", f"{field}=@{FIXTURES / name}"]
    for field, value in (fields or {}).items():
        args += ["-F", f"{field}={value}"]
    answer = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    try:
        return json.loads(answer)
    except json.JSONDecodeError:
        return {"text": answer}


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url).status == 200
    except OSError:
        return False


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    raise SystemExit("the original service did not get there in time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path, help="a checkout of tobalo/ilios, `bun install`ed")
    parser.add_argument("--bun", default="bun")
    parser.add_argument("--out", type=Path, default=FIXTURES / "original-service.db")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="original-"))
    app = work / "app"
    shutil.copytree(args.source, app, symlinks=True)
    service = app / "src" / "services" / "mistral.ts"
    source = service.read_text()
    assert PATCH[0] in source, "not the original's mistral.ts"
    service.write_text(source.replace(*PATCH))

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    endpoint = "http://{}:{}".format(*moto.get_host_and_port())
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)  # fmt: skip
    mistral = FakeMistralServer("127.0.0.1", 0, 0.0, None).start()

    port = free_port()
    (app / "data").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PORT": str(port),
        "LOCAL_DB_PATH": str(app / "data" / "ilios.db"),
        "USE_EMBEDDED_REPLICA": "false",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "S3_BUCKET": BUCKET,
        "MISTRAL_API_KEY": "fake",
        "MISTRAL_SERVER_URL": mistral.url,
        "API_KEY": ",".join(KEYS),
    }
    base = f"http://127.0.0.1:{port}"
    log = (work / "original.log").open("w")
    original = subprocess.Popen(
        [args.bun, "run", "src/index.ts"], cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: healthy(f"{base}/health"))
        alpha, bravo = KEYS
        queued = call(f"{base}/api/documents/submit", alpha, [("file", "phototest-scan.pdf")])
        call(f"{base}/v1/convert", bravo, [("file", "hebrew.png")])
        batch = call(
            f"{base}/v1/batch/submit",
            alpha,
            [("files", "phototest.tif"), ("files", "phototest-rotated-R.png")],
            {"priority": "8"},
        )

        def done(document_id):
            status = call(f"{base}/api/documents/status/{document_id}", alpha)["status"]
            return status in ("completed", "failed") or None

        wait_for(lambda: done(queued["id"]))
        wait_for(lambda: all(done(d["id"]) for d in batch["documents"]))
        unfinished = call(f"{base}/api/documents/submit", bravo, [("file", "phototest-scan.pdf")])
        print("left unfinished:", unfinished["id"])
        time.sleep(1.0)  # its upload lands; the worker polls every 5 s
    finally:
        original.send_signal(signal.SIGKILL)  # as a crash would: no chance to finish it
        original.wait()
        mistral.stop()
        moto.stop()
    checkpoint = subprocess.run(
        ["sqlite3", str(app / "data" / "ilios.db"), "PRAGMA wal_checkpoint(TRUNCATE);"],
        capture_output=True, text=True,
    )  # fmt: skip
    print(checkpoint.stdout.strip())
    shutil.copyfile(app / "data" / "ilios.db", args.out)
    print(f"wrote {args.out}; the original's log: {work / 'original.log'}")


if __name__ == "__main__":
    main()
