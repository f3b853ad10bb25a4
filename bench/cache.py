"""Re-runs that cost nothing: a converted 100-page PDF sent again, time to Markdown and engine
calls, first conversion against the cached re-run.

    .venv/bin/python -m bench.cache --db sqlite --runs 5

gunicorn (as `make run` starts it) and one `runworkers` process run the local engine, its calls
counted in a file every process appends to (bench/engines.py). A generated PDF of 100 pages, a
line of text each, is POSTed to /v1/documents and its Markdown polled for every 10 ms: the
first time it is converted, then it is sent again `--runs` times under the same API (the same
bytes, engine and options). Time to Markdown is from the POST until GET /v1/documents/{id}
answers 200. The same side by side for /v1/convert: `cache=false` (converted in the request)
against the default (answered from the cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.error
import urllib.request

from bench import common, service

PAGES = 100
POLL_SECONDS = 0.01


def post(url: str, path: str, pdf: bytes, fields: dict) -> tuple[int, bytes]:
    body, content_type = service.multipart(fields, "file", f"report-{PAGES}p.pdf", pdf)
    request = urllib.request.Request(
        url + path, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return response.status, response.read()


def markdown_after_submit(url: str, pdf: bytes) -> tuple[float, str, str]:
    """Seconds from the POST to the Markdown, the document's id and its status at submit."""
    started = time.perf_counter()
    _, body = post(url, "/v1/documents", pdf, {})
    submitted = json.loads(body)
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v1/documents/{submitted['id']}") as response:
                if response.status == 200:
                    response.read()
                    return time.perf_counter() - started, submitted["id"], submitted["status"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"the document failed: {exc.read()!r}") from None
        time.sleep(POLL_SECONDS)


def sync_convert(url: str, pdf: bytes, fields: dict) -> float:
    started = time.perf_counter()
    status, _ = post(url, "/v1/convert", pdf, fields)
    assert status == 200, status
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    calls_file = common.OUT / f"cache-{args.db}-engine-calls"
    calls_file.unlink(missing_ok=True)
    calls_file.touch()
    env = service.environment(
        args.db, f"cache-{args.db}", OCR_ENGINE="local", BENCH_ENGINE_CALLS=calls_file
    )
    service.setup_django(env, args.db)
    web, url = service.start_gunicorn(env, f"cache-{args.db}-gunicorn")
    workers = service.start_workers(env, 1, 2, f"cache-{args.db}-workers")

    def engine_calls() -> int:
        return len(calls_file.read_text().splitlines())

    pdf = service.small_pdf(pages=PAGES, text="Quarterly report, section {page}")
    try:
        warm = service.small_pdf(pages=2, text="warm-up {page}")
        markdown_after_submit(url, warm)  # the worker's engine and every import, warmed
        sync_convert(url, warm, {"cache": "false"})

        before = engine_calls()
        first_s, first_id, _ = markdown_after_submit(url, pdf)
        first_calls = engine_calls() - before
        cached = [markdown_after_submit(url, pdf) for _ in range(args.runs)]
        cached_calls = engine_calls() - before - first_calls

        before = engine_calls()
        sync_fresh = [sync_convert(url, pdf, {"cache": "false"}) for _ in range(args.runs)]
        sync_fresh_calls = engine_calls() - before
        sync_cached = [sync_convert(url, pdf, {}) for _ in range(args.runs)]
        sync_cached_calls = engine_calls() - before - sync_fresh_calls
    finally:
        common.stop(workers)
        common.stop(web)

    from usage.models import UsageRecord

    cached_ids = [document_id for _, document_id, _ in cached]
    billed = UsageRecord.objects.filter(document_id__in=cached_ids)
    cached_s = [seconds for seconds, _, _ in cached]
    common.emit(
        {
            "db": args.db,
            "pages": PAGES,
            "pdf_bytes": len(pdf),
            "runs": args.runs,
            "queued": {
                "first_s": round(first_s, 4),
                "cached_s": common.summary([round(s, 4) for s in cached_s]),
                "speedup": round(first_s / statistics.median(cached_s), 1),
                "first_engine_calls": first_calls,
                "cached_engine_calls": cached_calls,
                "cached_status_at_submit": sorted({status for _, _, status in cached}),
            },
            "sync": {
                "fresh_s": common.summary([round(s, 4) for s in sync_fresh]),
                "cached_s": common.summary([round(s, 4) for s in sync_cached]),
                "speedup": round(statistics.median(sync_fresh) / statistics.median(sync_cached), 1),
                "fresh_engine_calls": sync_fresh_calls,
                "cached_engine_calls": sync_cached_calls,
            },
            "cached_usage": {
                "operations": sorted(set(billed.values_list("operation", flat=True))),
                "pages": sorted(set(billed.values_list("pages", flat=True))),
                "total_cost_micros": sum(billed.values_list("total_cost_micros", flat=True)),
            },
            "first_document": first_id,
        }
    )


if __name__ == "__main__":
    main()
