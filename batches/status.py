"""A batch's status as the API answers it (`GET /v1/batch/status/{id}`) and its webhook
announces it, and the schema of that answer."""

from django.db.models import Count
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from batches.models import Batch
from documents.models import Document


def progress_of(batch: Batch) -> dict:
    """Document counts by status, from one query, so they always add up to the total."""
    counts = dict(batch.documents.values_list("status").annotate(n=Count("id")).order_by())
    return {
        "total": sum(counts.values()),
        **{state: counts.get(state, 0) for state in Document.Status.values},
    }


def status_body(batch: Batch) -> dict:
    finished = batch.status not in (Batch.Status.PENDING, Batch.Status.PROCESSING)
    return {
        "batchId": batch.id,
        "status": batch.status,
        "progress": progress_of(batch),
        "createdAt": batch.created_at,
        "completedAt": batch.completed_at,
        "downloadUrl": f"/v1/batch/download/{batch.id}" if finished else None,
    }


def documents_of(batch: Batch) -> list[dict]:
    """`?details=true`: each document's status, in upload order, with the original service's
    field names (its `error` is null when there is none)."""
    return [
        {
            "id": document.id,
            "fileName": document.file_name,
            "status": document.status,
            "error": document.error or None,
            "processedAt": document.processed_at,
        }
        for document in batch.documents_in_upload_order().only(
            "id", "file_name", "status", "error", "processed_at"
        )
    ]


progress_serializer = inline_serializer(
    "BatchProgress",
    fields={
        "total": serializers.IntegerField(),
        **{state: serializers.IntegerField() for state in Document.Status.values},
    },
)


def status_fields() -> dict:
    """The fields of `status_body`, for the status endpoint's schema and the webhook's."""
    return {
        "batchId": serializers.CharField(),
        "status": serializers.ChoiceField(choices=Batch.Status.choices),
        "progress": progress_serializer,
        "createdAt": serializers.DateTimeField(),
        "completedAt": serializers.DateTimeField(allow_null=True),
        "downloadUrl": serializers.CharField(allow_null=True),
    }


batch_status_serializer = inline_serializer("BatchStatus", fields=status_fields())
batch_details_serializer = inline_serializer(
    "BatchStatusWithDetails",
    fields={
        **status_fields(),
        "documents": inline_serializer(
            "BatchDocumentStatus",
            many=True,
            required=False,
            help_text="With `?details=true` only.",
            fields={
                "id": serializers.CharField(),
                "fileName": serializers.CharField(),
                "status": serializers.ChoiceField(choices=Document.Status.choices),
                "error": serializers.CharField(allow_null=True),
                "processedAt": serializers.DateTimeField(allow_null=True),
            },
        ),
    },
)
