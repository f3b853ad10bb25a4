"""Running a stored document through its engine, and the metadata its result gives it.

No database writes here: the queue runs a conversion outside any transaction (it can take
minutes) and records what it returned when it finishes the job (`jobs.outcomes`).
"""

from __future__ import annotations

from documents import storage
from documents.engines import get_engine
from documents.engines.base import ConversionOptions, ConversionResult
from documents.models import Document


def run(document: Document, options: ConversionOptions) -> ConversionResult:
    engine = get_engine(document.engine)
    with storage.local_copy(document.original) as path:
        return engine.convert(path, document.mime_type, options)


def metadata_for(document: Document, result: ConversionResult) -> dict:
    return {
        "model": result.model,
        "engine": document.engine,
        "extractedPages": result.pages_processed,
        "processingTimeMs": result.processing_ms,
        "fileName": document.file_name,
        "fileSize": document.file_size,
        "mimeType": document.mime_type,
    }
