"""Batch counters, kept exact by updating them in the transaction that finishes a document."""

from django.db.models import Case, F, Value, When

from batches.models import Batch

OPEN = (Batch.Status.PENDING, Batch.Status.PROCESSING)


def documents_claimed(batch_ids) -> None:
    """A worker took documents of these batches: they are processing from now on, as their
    clients see them, not only once their first document has finished (which can take minutes).
    """
    Batch.objects.filter(id__in=batch_ids, status=Batch.Status.PENDING).update(
        status=Batch.Status.PROCESSING
    )


def document_finished(batch_id: str, succeeded: bool, now) -> bool:
    """Count a document's outcome; True when it was the batch's last (the batch just ended)."""
    return _count(batch_id, "completed_documents" if succeeded else "failed_documents", 1, now)


def documents_cancelled(batch_counts: dict[str, int], now) -> list[str]:
    """Documents of these batches were cancelled before conversion: {batch_id: how many}.

    Returns the batches this ended."""
    return [
        batch_id
        for batch_id, count in batch_counts.items()
        if _count(batch_id, "cancelled_documents", count, now)
    ]


def _count(batch_id: str, counter: str, count: int, now) -> bool:
    """Add to one counter, then finish the batch once every document has an outcome; True
    when this call finished it (its webhook is due).

    A batch fails only when no document succeeded; one whose documents were all cancelled ends
    cancelled.
    """
    batch = Batch.objects.filter(id=batch_id)
    batch.update(**{counter: F(counter) + count})
    batch.filter(status=Batch.Status.PENDING).update(status=Batch.Status.PROCESSING)
    finished = batch.filter(
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
    return bool(finished)


def documents_reopened(batch_counts: dict[str, int]) -> None:
    """Failed documents of these batches get another try: {batch_id: how many}."""
    for batch_id, count in batch_counts.items():
        Batch.objects.filter(id=batch_id).update(
            failed_documents=F("failed_documents") - count,
            status=Batch.Status.PROCESSING,
            completed_at=None,
        )
