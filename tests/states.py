"""Put documents into the states the admin acts on, through the queue as a worker would."""

from documents.engines.base import ConversionResult, Page
from jobs import queue


def claimed(document):
    worker = queue.register_worker(concurrency=1)
    (job,) = queue.claim(worker.id, limit=1)
    assert job.document_id == document.id
    return job, worker


def fail(document, error: str = "scripted permanent failure"):
    job, worker = claimed(document)
    queue.fail(job, worker.id, error, retryable=False)
    document.refresh_from_db()
    return document


def complete(document, pages: int = 1):
    job, worker = claimed(document)
    result = ConversionResult(pages=[Page(i, f"page {i}") for i in range(pages)], model="m")
    queue.complete(job, worker.id, result)
    document.refresh_from_db()
    return document


def billed(pages: int, *, when=None, api_key=None, engine: str = "mistral"):
    """A document converted and billed at `when`, as a sync conversion would record it."""
    from django.utils import timezone

    from documents.models import Document
    from jobs import outcomes

    document = Document.objects.create(
        file_name="x.pdf",
        mime_type="application/pdf",
        file_size=1,
        sha256="0" * 64,
        engine=engine,
        api_key=api_key,
    )
    result = ConversionResult(
        pages=[Page(i, "x") for i in range(pages)], model="m", input_tokens=10, output_tokens=2
    )
    outcomes.converted([(document, result)], when or timezone.now())
    return document
