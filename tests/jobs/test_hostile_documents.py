"""Hostile documents that reach the queue, converted by a real `runworkers` process.

Submit refuses a document past a cap (tests/api/test_hostile_inputs.py), but one can still be
queued: stored before a cap was lowered, or by a worker configured with lower caps than the API.
It must fail at once with a reason a person can read, never be retried three times only to end
as "internal error", and a huge page within the caps must convert.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from documents import formats, storage
from documents.models import Document
from fakes import hostile
from jobs import queue
from jobs.models import Job
from tests.conftest import wait_until
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def queued(content: bytes, pages: str | None = None) -> Document:
    """A document stored and queued for the local engine, as a submission would, minus its
    checks: the worker is the one that meets it."""
    document = Document(
        file_name="hostile",
        mime_type=formats.sniff(content[: formats.SNIFF_BYTES]),
        file_size=len(content),
        sha256="0" * 64,
        engine="local",
    )
    document.original = storage.store_original(document.id, ContentFile(content))
    document.save(force_insert=True)
    queue.enqueue(document, {"pages": pages} if pages else {})
    return document


def first_attempt_over(document: Document) -> Job:
    """The job once its first attempt ended, however it ended: retried, failed or completed."""
    return wait_until(
        lambda: (
            Job.objects.filter(document=document)
            .exclude(status=Job.Status.PROCESSING)
            .exclude(status=Job.Status.PENDING, attempts=0)
            .first()
        ),
        timeout=120,
    )


@pytest.mark.parametrize(
    ("content", "pages", "setting"),
    [
        (hostile.png_of_size(50_000, 50_000), None, "MAX_IMAGE_PIXELS"),
        (hostile.png_of_size(7_000, 7_000), None, "MAX_IMAGE_PIXELS"),
        (hostile.pdf_with_page(1e9, 1e9), None, "MAX_PAGE_SIDE"),
        (hostile.pdf_with_page(612, 792, "a page", pages=30), None, "MAX_PAGES"),
        (hostile.pdf_with_page(612, 792, "a page"), "1-99999", "MAX_PAGES"),
    ],
    ids=["png-50000x50000", "png-over-the-cap", "page-1e9-points", "pages-over-max", "range"],
)
def test_a_queued_document_past_a_cap_fails_at_once_with_its_reason(
    workers, content, pages, setting
):
    document = queued(content, pages)
    workers(processes=1, concurrency=1, MAX_PAGES=20)

    job = first_attempt_over(document)
    document.refresh_from_db()

    assert (job.status, job.attempts) == ("failed", 1), job.error
    assert document.status == "failed"
    assert setting in document.error and "internal error" not in document.error
    assert not UsageRecord.objects.exists()


def test_a_huge_page_within_the_caps_is_rendered_smaller_and_converted(workers):
    document = queued(hostile.pdf_with_page(14_400, 14_400))
    workers(processes=1, concurrency=1)

    job = first_attempt_over(document)

    assert (job.status, job.attempts) == ("completed", 1), job.error
    assert UsageRecord.objects.get().pages == 1


def test_each_frame_of_a_tiff_is_its_own_page_in_order(workers):
    document = queued(hostile.tiff_of_words(["FIRST", "SECOND", "THIRD"]))
    workers(processes=1, concurrency=1)

    job = first_attempt_over(document)
    document.refresh_from_db()

    assert job.status == "completed", job.error
    assert document.content.split() == ["FIRST", "SECOND", "THIRD"]
    assert UsageRecord.objects.get().pages == 3
