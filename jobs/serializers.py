"""What the API says about webhooks: a document's deliveries, and the OpenAPI description of
the deliveries themselves (drf-spectacular's `webhooks`, listed in SPECTACULAR_SETTINGS)."""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema, inline_serializer
from rest_framework import serializers

from batches.status import status_fields as batch_status_fields
from documents.models import Document
from jobs.models import Delivery


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The webhook-id header: the same on every retry.")
    event = serializers.ChoiceField(choices=Delivery.Event.choices)
    url = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Delivery.Outcome.choices)
    attempts = serializers.IntegerField(source="job.attempts")
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="job.error")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="job.completed_at", allow_null=True)


def deliveries_of(document: Document):
    deliveries = document.deliveries.select_related("job").order_by("created_at", "id")
    return DeliverySerializer(deliveries, many=True).data


SIGNATURE = (
    "Signed per the Standard Webhooks specification: `webhook-id` (the same on every retry: "
    "de-duplicate on it), `webhook-timestamp` (Unix seconds of this attempt) and "
    '`webhook-signature` (`v1,` + base64 of HMAC-SHA256 over "id.timestamp.body", keyed with '
    "the API key's webhook secret or the server's WEBHOOK_SECRET). Answer 2xx to acknowledge; "
    "timeouts, connection errors, 429 and 5xx are retried for about a day (Retry-After is "
    "honoured), any other answer is final. Redirects are not followed."
)

document_event = inline_serializer(
    "DocumentEvent",
    fields={
        "event": serializers.ChoiceField(
            choices=[Delivery.Event.DOCUMENT_COMPLETED, Delivery.Event.DOCUMENT_FAILED]
        ),
        "id": serializers.CharField(),
        "status": serializers.ChoiceField(choices=Document.Status.choices),
        "fileName": serializers.CharField(),
        "error": serializers.CharField(required=False, help_text="Why it failed."),
        "metadata": serializers.DictField(required=False),
        "batchId": serializers.CharField(required=False),
        "downloadUrl": serializers.CharField(
            required=False, help_text="Where the Markdown is (completed documents)."
        ),
    },
)

batch_event = inline_serializer(
    "BatchEvent",
    fields={
        "event": serializers.ChoiceField(choices=[Delivery.Event.BATCH_COMPLETED]),
        **batch_status_fields(),
    },
)

ACKNOWLEDGED = {200: OpenApiResponse(description="received (any 2xx)")}


def _webhook(event: str, body, summary: str) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=event,
        decorator=extend_schema(
            summary=summary, description=SIGNATURE, request=body, responses=ACKNOWLEDGED
        ),
    )


document_completed_webhook = _webhook(
    Delivery.Event.DOCUMENT_COMPLETED,
    document_event,
    "A document was converted: its status, and where to fetch the Markdown",
)
document_failed_webhook = _webhook(
    Delivery.Event.DOCUMENT_FAILED, document_event, "A document's conversion failed, and why"
)
batch_completed_webhook = _webhook(
    Delivery.Event.BATCH_COMPLETED,
    batch_event,
    "Every document of a batch has an outcome: the batch's status and progress",
)
