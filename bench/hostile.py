"""Hostile inputs: what tiny files that ask for gigabytes cost the API and a worker.

    .venv/bin/python -m bench.hostile

gunicorn (as `make run` starts it, but one process: a request goes to either of two, so the
warm-up might miss the one measured, which then loaded the OCR model during the set) and one
`runworkers` process (4 jobs at once) run with the local engine on SQLite. Every process is
warmed first (a small scan and a small blank page converted, so the OCR model is loaded and the
first-request costs are paid), then its VmRSS is its baseline. Each input of the hostile set
(`fakes.hostile`) is sent to `POST /v1/convert` (converted in the API process) and to
`POST /v1/documents` (converted by the worker), one at a time, while every process's VmRSS is
sampled every 20 ms from /proc: growth = its peak during that input − its RSS just before;
after = its RSS once the input is done − its warmed baseline. Last, three of the largest page
PDF allows at once, to each. Bars: no process grows by more than 300 MB on any input, and
every process is back within 50 MB of its baseline after the set.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import common, service
from fakes import hostile

MB = 10**6
GROWTH_BAR_MB = 300
RETURN_BAR_MB = 50
WORKER_CONCURRENCY = 4


def hostile_set() -> list[tuple[str, str, bytes, dict]]:
    """(name, file name, content, form fields): refused ones, then huge ones within the caps."""
    small = hostile.pdf_with_page(612, 792, "A small page")
    return [
        ("PNG 12000 x 12000, blank", "blank.png", hostile.png_of_size(12_000, 12_000, 8), {}),
        ("PNG 50000 x 50000", "bomb.png", hostile.png_of_size(50_000, 50_000), {}),
        ("PDF page 1e9 x 1e9 pt", "wide.pdf", hostile.pdf_with_page(1e9, 1e9), {}),
        (
            "page range of 999 characters",
            "small.pdf",
            small,
            {"pages": ",".join(f"{i * 10**5 + 1}-{(i + 1) * 10**5}" for i in range(64))},
        ),
        ("ZIP inflating to 1 GiB", "bomb.zip", hostile.zip_bomb(1024), {}),
        ("PDF page 3000 x 3000 pt, blank", "big.pdf", hostile.pdf_with_page(3000, 3000), {}),
        (
            "PDF page 14400 x 14400 pt, blank",
            "largest.pdf",
            hostile.pdf_with_page(14_400, 14_400),
            {},
        ),
        ("PDF page 14400 x 1 pt", "sliver.pdf", hostile.pdf_with_page(14_400, 1), {}),
        (
            "PDF page with 12 stacked pictures",
            "pictures.pdf",
            hostile.pdf_with_pictures(12, 3000, 3000),
            {},
        ),
        (
            "PNG 6324 x 6324 RGB (the pixel cap)",
            "cap.png",
            hostile.png_of_size(6324, 6324, 8, colour=True),
            {},
        ),
        ("TIFF of 3 frames", "frames.tif", hostile.tiff_of_words(["FIRST", "SECOND", "THIRD"]), {}),
        (
            "PDF of 1000 pages (ten parts)",
            "long.pdf",
            hostile.pdf_with_page(612, 792, "A line of text on every page", pages=1000),
            {},
        ),
    ]


class Sampler:
    """Peak VmRSS of some processes while a block runs, sampled every 20 ms."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def __enter__(self) -> Sampler:
        self.before = {pid: service.rss_kib(pid) for pid in self.pids}
        self.peak = dict(self.before)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()
        return self

    def sample(self) -> None:
        while not self.done.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], service.rss_kib(pid))
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def growth_mb(self) -> float:
        return max(self.peak[pid] - self.before[pid] for pid in self.pids) * 1024 / MB


def post(url: str, path: str, name: str, content: bytes, fields: dict) -> tuple[int, dict | str]:
    """POST one file with `cache=false`: each input is sent to both endpoints (the largest page
    three more times to each), and a result taken from the cache would measure nothing."""
    body, content_type = service.multipart({"cache": "false", **fields}, "file", name, content)
    request = urllib.request.Request(
        url + path, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:200]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def queued_outcome(url: str, name: str, content: bytes, fields: dict) -> str:
    """Submit, then wait for the worker: "completed", "failed: <reason>" or the refusal."""
    status, body = post(url, "/v1/documents", name, content, fields)
    if status != 202:
        return f"{status} {body['error']['code'] if isinstance(body, dict) else body}"
    status_url = f"{url}/v1/documents/{body['id']}/status"
    document = common.wait_until(
        lambda: (d := get_json(status_url))["status"] not in ("pending", "processing") and d,
        timeout=900,
        interval=0.2,
    )
    reason = f": {document['error']}" if document.get("error") else ""
    return f"{document['status']}{reason}"


def converted_outcome(url: str, name: str, content: bytes, fields: dict) -> str:
    status, body = post(url, "/v1/convert", name, content, {**fields, "format": "json"})
    return f"{status} {body['error']['code']}" if status >= 400 else f"{status}"


def worker_processes(runner: int) -> list[int]:
    """The worker processes `runworkers` forked, and not the tools it runs on the way (such as
    `tesseract --list-langs`), which would be measured at 0 MB once they exit."""
    forked = []
    for pid in service.children(runner):
        with contextlib.suppress(OSError):
            if b"runworkers" in Path(f"/proc/{pid}/cmdline").read_bytes():
                forked.append(pid)
    return forked


def rss_mb(pids: list[int]) -> dict[int, float]:
    return {pid: service.rss_kib(pid) * 1024 / MB for pid in pids}


def main() -> None:
    env = service.environment("sqlite", "hostile", OCR_ENGINE="local")
    service.setup_django(env, "sqlite")
    web, url = service.start_gunicorn({**env, "WEB_CONCURRENCY": "1"}, "hostile-gunicorn")
    runner = service.start_workers(env, 1, WORKER_CONCURRENCY, "hostile-workers")
    try:
        api_pids = service.children(web.pid)
        [worker_pid] = common.wait_until(lambda: worker_processes(runner.pid), timeout=60)
        warm = [
            ("warm.tif", hostile.tiff_of_words(["WARM"])),
            ("warm.pdf", hostile.pdf_with_page(300, 300)),
        ]
        for name, content in warm * 2 * len(api_pids):
            converted_outcome(url, name, content, {})
        for name, content in warm:
            queued_outcome(url, name, content, {})
        time.sleep(1)
        api_baseline, worker_baseline = rss_mb(api_pids), rss_mb([worker_pid])
        print("baselines MB", api_baseline, worker_baseline, flush=True)

        rows = []
        for label, name, content, fields in hostile_set():
            row = {"input": label, "bytes": len(content)}
            with Sampler(api_pids) as api:
                row["api_answer"] = converted_outcome(url, name, content, fields)
            with Sampler([worker_pid]) as worker:
                row["worker_outcome"] = queued_outcome(url, name, content, fields)
            row["api_growth_mb"] = round(api.growth_mb(), 1)
            row["worker_growth_mb"] = round(worker.growth_mb(), 1)
            print(row, flush=True)
            rows.append(row)

        largest = hostile.pdf_with_page(14_400, 14_400)
        with Sampler(api_pids) as api, ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(lambda _: converted_outcome(url, "l.pdf", largest, {}), range(3))
            )
        with Sampler([worker_pid]) as worker, ThreadPoolExecutor(3) as pool:
            outcomes = list(pool.map(lambda _: queued_outcome(url, "l.pdf", largest, {}), range(3)))
        at_once = {
            "api_answers": answers,
            "api_growth_mb": round(api.growth_mb(), 1),
            "worker_outcomes": outcomes,
            "worker_growth_mb": round(worker.growth_mb(), 1),
        }
        print("three at once", at_once, flush=True)
        time.sleep(1)
        api_after, worker_after = rss_mb(api_pids), rss_mb([worker_pid])
    finally:
        common.stop(runner)
        common.stop(web)

    api_back = max(api_after[pid] - api_baseline[pid] for pid in api_pids)
    worker_back = worker_after[worker_pid] - worker_baseline[worker_pid]
    growth = max(max(r["api_growth_mb"], r["worker_growth_mb"]) for r in rows)
    common.emit(
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "inputs": rows,
            "three_at_once": at_once,
            "baseline_mb": {
                "api": round(max(api_baseline.values()), 1),
                "worker": round(worker_baseline[worker_pid], 1),
            },
            "after_minus_baseline_mb": {"api": round(api_back, 1), "worker": round(worker_back, 1)},
            "max_growth_mb": growth,
            "growth_ok": growth <= GROWTH_BAR_MB,
            "returned_ok": max(api_back, worker_back) <= RETURN_BAR_MB,
            "no_5xx": all(
                not r["api_answer"].startswith("5") and not r["worker_outcome"].startswith("5")
                for r in rows
            ),
        }
    )


if __name__ == "__main__":
    main()
