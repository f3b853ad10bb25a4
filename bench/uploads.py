"""Large uploads: one big file POSTed with curl to /v1/documents, to local storage then to S3.

    .venv/bin/python -m bench.uploads --mib 1024

MB/s is the file's size over curl's total time on loopback (MB = 10^6 bytes). RSS growth is
the peak VmRSS of any gunicorn worker during the upload minus its VmRSS just before (after a
few small uploads have warmed every worker up), sampled every 20 ms from /proc. The S3 run
stores originals in a moto server (S3 API, multipart above S3_MULTIPART_THRESHOLD), the bucket
created first.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import threading
import time
from pathlib import Path

from bench import common, service


def big_file(mib: int) -> Path:
    """A valid one-page PDF of exactly `mib` MiB: the bulk is an unreferenced binary stream."""
    path = common.OUT / f"upload-{mib}MiB.pdf"
    if path.exists() and path.stat().st_size == mib * 2**20:
        return path
    head = service.small_pdf()
    head = head[: head.rindex(b"xref")]  # the small PDF's objects, without its xref/trailer
    objects = [int(m) for m in re.findall(rb"(?m)^(\d+) 0 obj", head)]
    padding_number = max(objects) + 1
    offsets = [m.start() for m in re.finditer(rb"(?m)^\d+ 0 obj", head)]
    opening = f"{padding_number} 0 obj\n<< /Length {{length:012d}} >>\nstream\n"
    closing = "\nendstream\nendobj\n"

    def tail(padding_offset: int, xref: int) -> bytes:
        entries = "".join(f"{o:010d} 00000 n \n" for o in offsets + [padding_offset])
        return (
            f"xref\n0 {padding_number + 1}\n0000000000 65535 f \n{entries}"
            f"trailer\n<< /Size {padding_number + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ).encode()

    overhead = len(head) + len(opening.format(length=0)) + len(closing) + len(tail(0, mib * 2**20))
    length = mib * 2**20 - overhead
    chunk = os.urandom(2**20)
    with open(path, "wb") as out:
        out.write(head)
        padding_offset = out.tell()
        out.write(opening.format(length=length).encode())
        for start in range(0, length, len(chunk)):
            out.write(chunk[: min(len(chunk), length - start)])
        out.write(closing.encode())
        out.write(tail(padding_offset, out.tell()))
    return path


def warm_up(url: str, workers: int) -> None:
    """Submit a small PDF to every gunicorn worker first, so the growth measured is the big
    upload's own, not the one-time cost of a first request (imports, the S3 client's models)."""
    small = common.OUT / "upload-warm-up.pdf"
    small.write_bytes(service.small_pdf())
    for _ in range(4 * workers):
        subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-F", f"file=@{small}", url + "/v1/documents"],
            check=True,
        )


def upload(env: dict, path: Path, name: str) -> dict:
    web, url = service.start_gunicorn(env, f"upload-{name}-gunicorn")
    try:
        workers = service.children(web.pid)
        warm_up(url, len(workers))
        baseline = {pid: service.rss_kib(pid) for pid in workers}
        peak = dict(baseline)
        done = threading.Event()

        def sample():
            while not done.is_set():
                for pid in workers:
                    peak[pid] = max(peak[pid], service.rss_kib(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        output = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-F",
                f"file=@{path}",
                url + "/v1/documents",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
    finally:
        common.stop(web)
    growth_mib = max(peak[pid] - baseline[pid] for pid in workers) / 1024
    return {
        "status": int(output),
        "seconds": seconds,
        "mb_per_s": path.stat().st_size / 1e6 / seconds,
        "rss_growth_mib": growth_mib,
        "ok": output == "202",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    path = big_file(args.mib)
    results = {"mib": args.mib}

    env = service.environment("sqlite", "upload-local")
    service.setup_django(env, "sqlite")
    results["local"] = upload(env, path, "local")
    print("local", results["local"], flush=True)

    moto, s3 = service.start_moto("upload-moto")
    try:
        results["s3"] = upload({**env, **s3}, path, "s3")
        print("s3", results["s3"], flush=True)
    finally:
        common.stop(moto)
    common.emit(results)


if __name__ == "__main__":
    main()
