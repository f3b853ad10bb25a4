"""Big documents fanned out: time to Markdown of one long PDF, in parts against in one piece.

    .venv/bin/python -m bench.fanout --db sqlite --pages 600 --runs 1

One `runworkers` (WORKER_COUNT=2, MAX_CONCURRENT_JOBS as configured, 4 by default) serves both
modes, side by side in the same run: a born-digital PDF of `--pages` pages (each page `--lines`
lines of text, and a word only it has) submitted with FANOUT_PAGES=0 (one job, as before) and
with FANOUT_PAGES=100 (parts any worker process takes), alternately. Time to Markdown is from
the submission to the document's completion, as a client polling it sees. The stitched Markdown
is checked for every page's word, in page order, and the bill for the page count, once. Each
run also records the engine's own time (the parts' added up): on a machine whose other
processes take the second core, it rises above the serial time and the speed-up falls with it.

Then a PDF of 1,200 pages through the fake Mistral server, which refuses more than 1,000 pages
or 50 MB a request as the API does: with fan-out, and without it (the engine then sends PDFs of
at most 1,000 of its pages). Merged into benchmarks/latest_results.json ("fanout") and README's
Benchmarks section when run on its own; `bench.run` includes it.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from bench import common, service
from fakes.long_documents import numbered_pdf, page_marker

MODES = (("serial", 0), ("fanout", 100))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--mistral-pages", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-merge", action="store_true", help="only print the RESULT line")
    args = parser.parse_args()

    common.OUT.mkdir(parents=True, exist_ok=True)
    fake, url = service.start_fake_mistral(0.0, "fanout-mistral")
    env = service.environment(
        args.db, f"fanout-{args.db}", WORKER_COUNT=2, **service.mistral_env(url)
    )
    workers = None
    try:
        service.setup_django(env, args.db)
        from django.conf import settings

        workers = service.start_workers(
            env, 2, settings.MAX_CONCURRENT_JOBS, f"fanout-{args.db}-workers"
        )
        wait_for_workers(2)
        local_pdf = numbered_pdf(args.pages, lines=args.lines)
        runs = []
        for run in range(args.runs):
            times = {}
            for mode, fanout_pages in MODES:
                times[mode] = time_to_markdown(local_pdf, args.pages, "local", fanout_pages)
                print(f"run {run} {mode}: {times[mode]['seconds']:.2f} s", flush=True)
            runs.append(times)
        mistral_pdf = numbered_pdf(args.mistral_pages)
        mistral = {
            mode: time_to_markdown(mistral_pdf, args.mistral_pages, "mistral", fanout_pages)
            for mode, fanout_pages in MODES
        }
    finally:
        if workers:
            common.stop(workers)
        common.stop(fake)
    serial = common.summary([run["serial"]["seconds"] for run in runs])
    fanned = common.summary([run["fanout"]["seconds"] for run in runs])
    result = {
        "db": args.db,
        "pages": args.pages,
        "pdf_bytes": len(local_pdf),
        "worker_count": 2,
        "max_concurrent_jobs": settings.MAX_CONCURRENT_JOBS,
        "fanout_pages": MODES[1][1],
        "serial_s": serial,
        "fanout_s": fanned,
        "speedup": round(serial["median"] / fanned["median"], 2),
        "runs": runs,
        "mistral": {"pages": args.mistral_pages, **mistral},
    }
    common.emit(result)
    if not args.no_merge:
        from bench import report

        report.merge("fanout", result)


def wait_for_workers(count: int) -> None:
    """Until the worker processes have registered and built their engine (a second after)."""
    from jobs.models import Worker

    common.wait_until(lambda: Worker.objects.filter(status="active").count() >= count, timeout=60)
    time.sleep(2)


def time_to_markdown(pdf: bytes, pages: int, engine: str, fanout_pages: int) -> dict:
    """Submit the PDF (split into parts when `fanout_pages`) and wait for its Markdown."""
    from django.conf import settings
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from documents import formats, services
    from documents.engines.base import ConversionOptions
    from documents.models import Document
    from usage.models import UsageRecord

    settings.FANOUT_PAGES = fanout_pages
    upload = TemporaryUploadedFile("long.pdf", formats.PDF, len(pdf), None)
    upload.write(pdf)
    upload.seek(0)
    upload.mime_type, upload.sha256 = formats.PDF, hashlib.sha256(pdf).hexdigest()
    started = time.monotonic()
    try:
        document = services.submit(
            upload,
            api_key=None,
            engine=engine,
            options=ConversionOptions(),
            pages_text=None,
            retention_days=1,
            priority=5,
            use_cache=False,  # the same bytes run twice: the second must convert, not reuse
        )
    finally:
        upload.close()
    finished = common.wait_until(
        lambda: Document.objects.filter(id=document.id, status__in=["completed", "failed"]).first(),
        timeout=1800,
        interval=0.02,
    )
    seconds = time.monotonic() - started
    content = finished.content
    positions = [content.find(page_marker(page)) for page in range(1, pages + 1)]
    billed = list(UsageRecord.objects.filter(document=document).values_list("pages", flat=True))
    return {
        "seconds": round(seconds, 3),
        # The engine's own time, all parts added up: above the serial time when the parts had
        # to share the cores (other processes on a shared machine) rather than run side by side.
        "engine_seconds": (finished.metadata or {}).get("processingTimeMs", 0) / 1000,
        "status": finished.status,
        "error": finished.error,
        "parts": document.jobs.filter(parent__isnull=False).count(),
        "every_page_in_order": -1 not in positions and positions == sorted(positions),
        "billed_pages": billed,
    }


if __name__ == "__main__":
    main()
