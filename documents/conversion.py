"""Running a stored document through its engine, and the metadata its result gives it.

No database writes here: the queue runs a conversion outside any transaction (it can take
minutes) and records what it returned when it finishes the job (`jobs.outcomes`).
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings

from documents import formats, limits, storage
from documents.engines import get_engine
from documents.engines.base import (
    ConversionError,
    ConversionOptions,
    ConversionResult,
    EngineUnavailable,
)
from documents.models import Document
from ilios import metrics


def run(document: Document, options: ConversionOptions) -> ConversionResult:
    with storage.local_copy(document.original) as path:
        return convert_file(document.engine, path, document.mime_type, options)


def convert_file(
    engine: str, path: Path, mime_type: str, options: ConversionOptions
) -> ConversionResult:
    """Run an engine on a file on local disk, counted in the metrics, then give the memory it
    took back to the system (a large page's peak would otherwise stay with the process for good).

    Every conversion, queued or in a request, passes here, so the metrics count each engine
    call once, whatever later becomes of its result.
    """
    in_progress = metrics.IN_PROGRESS.labels(engine)
    in_progress.inc()
    started = time.monotonic()
    try:
        result = get_engine(engine).convert(path, mime_type, options)
    except EngineUnavailable as exc:
        metrics.engine_failed(engine, exc.kind)
        raise
    except ConversionError:
        metrics.engine_failed(engine, "permanent")
        raise
    except Exception:
        metrics.CONVERSIONS.labels(engine, "error").inc()
        raise
    finally:
        in_progress.dec()
        limits.release_memory()
    metrics.converted(engine, result.pages_processed, time.monotonic() - started)
    return result


def page_parts(mime_type: str, indices: list[int]) -> list[tuple[int, ...]]:
    """The 1-based page numbers of each part a conversion of these 0-based pages fans out into:
    FANOUT_PAGES at a time for a longer PDF, else one part (an image's frames, FANOUT_PAGES=0).

    Each part is a conversion of its own (docs/design.md, Big documents), so no conversion reads
    more than FANOUT_PAGES pages: that, not MAX_PAGES, bounds what one holds in memory.
    """
    numbers = tuple(index + 1 for index in indices)
    size = settings.FANOUT_PAGES
    if mime_type != formats.PDF or not size or len(numbers) <= size:
        return [numbers]
    return [numbers[start : start + size] for start in range(0, len(numbers), size)]


def convert_parts(
    engine: str,
    path: Path,
    mime_type: str,
    options: ConversionOptions,
    parts: list[tuple[int, ...]],
) -> ConversionResult:
    """Convert the parts side by side on MAX_CONCURRENT_JOBS threads and join them in page order
    (the synchronous endpoint's fan-out; the queue's parts are jobs). The first part to fail
    fails the whole, and the parts not yet started are dropped."""
    if len(parts) == 1:
        return convert_file(engine, path, mime_type, options)
    pool = ThreadPoolExecutor(min(len(parts), settings.MAX_CONCURRENT_JOBS), "part")
    try:
        results = list(
            pool.map(
                lambda pages: convert_file(
                    engine, path, mime_type, dataclasses.replace(options, pages=pages)
                ),
                parts,
            )
        )
    finally:
        pool.shutdown(cancel_futures=True)
    return ConversionResult.joined(results)


def metadata_for(document: Document, result: ConversionResult) -> dict:
    return {
        "model": result.model,
        "engine": document.engine,
        "extractedPages": result.pages_processed,
        "pages": result.pages_processed,  # the original's README promised this name
        "processingTimeMs": result.processing_ms,
        "fileName": document.file_name,
        "fileSize": document.file_size,
        "mimeType": document.mime_type,
    }
