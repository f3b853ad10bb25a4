"""Batch counters, kept exact by updating them in the transaction that finishes a document."""

from django.db.models import Case, F, Value, When

from batches.models import Batch

OPEN = (Batch.Status.PENDING, Batch.Status.PROCESSING)


def document_finished(batch_id: str, succeeded: bool, now) -> None:
    _count(batch_id, "completed_documents" if succeeded else "failed_documents", 1, now)


def documents_cancelled(batch_counts: dict[str, int], now) -> None:
    """Documents of these batches were cancelled before conversion: {batch_id: how many}."""
    for batch_id, count in batch_counts.items():
        _count(batch_id, "cancelled_documents", count, now)


def _count(batch_id: str, counter: str, count: int, now) -> None:
    """Add to one counter, then finish the batch once every document has an outcome.

    A batch fails only when no document succeeded; one whose documents were all cancelled ends
    cancelled.
    """
    batch = Batch.objects.filter(id=batch_id)
    batch.update(**{counter: F(counter) + count})
    batch.filter(status=Batch.Status.PENDING).update(status=Batch.Status.PROCESSING)
    batch.filter(
        status__in=OPEN,
        total_documents__lte=(
            F("completed_documents") + F("failed_documents") + F("cancelled_documents")
        ),
    ).update(
        status=Case(
            When(completed_documents__gt=0, then=Value(Batch.Status.COMPLETED)),
            When(failed_documents__gt=0, then=Value(Batch.Status.FAILED)),
            default=Value(Batch.Status.CANCELLED),
        ),
        completed_at=now,
    )


def documents_reopened(batch_counts: dict[str, int]) -> None:
    """Failed documents of these batches get another try: {batch_id: how many}."""
    for batch_id, count in batch_counts.items():
        Batch.objects.filter(id=batch_id).update(
            failed_documents=F("failed_documents") - count,
            status=Batch.Status.PROCESSING,
            completed_at=None,
        )
