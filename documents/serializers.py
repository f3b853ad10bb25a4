from rest_framework import serializers

from documents import engines
from documents.models import (
    DEFAULT_PRIORITY,
    DEFAULT_RETENTION_DAYS,
    PRIORITY_RANGE,
    RETENTION_DAYS_RANGE,
    Document,
)
from jobs.serializers import DeliverySerializer


class ConversionOptionsSerializer(serializers.Serializer):
    """Fields every endpoint that converts (sync, async and batch) accepts."""

    engine = serializers.ChoiceField(choices=engines.choices(), required=False, allow_blank=True)
    pages = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Page range such as 1-3,7 (1-based). All pages when omitted.",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Password of an encrypted PDF; used for this conversion only, never stored.",
    )
    forceOcr = serializers.BooleanField(
        required=False,
        default=False,
        help_text="OCR every page, even those with a text layer; never answered from the cache.",
    )
    cache = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Reuse the result when this API key converted the same bytes with the same "
        "engine and options before: completed at once, billed as `cached` at no cost. false "
        "converts again.",
    )
    retentionDays = serializers.IntegerField(
        required=False,
        min_value=RETENTION_DAYS_RANGE[0],
        max_value=RETENTION_DAYS_RANGE[1],
        default=DEFAULT_RETENTION_DAYS,
    )


class QueuedConversionSerializer(ConversionOptionsSerializer):
    """Fields of the endpoints that queue their conversions (async and batch)."""

    priority = serializers.IntegerField(
        required=False,
        min_value=PRIORITY_RANGE[0],
        max_value=PRIORITY_RANGE[1],
        default=DEFAULT_PRIORITY,
    )

    webhookUrl = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Called when the conversion ends (document.completed or document.failed; for a "
        "batch, also batch.completed), signed per Standard Webhooks. https only; a URL that "
        "resolves to a loopback, link-local or private address is refused with 400. When "
        "omitted, the API key's default webhook (set in the admin), if any.",
    )


class SubmitDocumentSerializer(QueuedConversionSerializer):
    file = serializers.FileField(allow_empty_file=True)


class SubmittedDocumentSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    fileName = serializers.CharField()
    fileSize = serializers.IntegerField()
    mimeType = serializers.CharField()
    engine = serializers.CharField()
    retentionDays = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    statusUrl = serializers.CharField()


class UploadUrlRequestSerializer(serializers.Serializer):
    fileName = serializers.CharField(max_length=255)
    fileSize = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Bytes; the upload must be exactly this size."
    )
    mimeType = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="When given, the upload must send this Content-Type. The document's type is "
        "still told from its bytes at completion.",
    )
    retentionDays = serializers.IntegerField(
        required=False,
        min_value=RETENTION_DAYS_RANGE[0],
        max_value=RETENTION_DAYS_RANGE[1],
        default=DEFAULT_RETENTION_DAYS,
    )


class UploadUrlSerializer(serializers.Serializer):
    id = serializers.CharField()
    uploadUrl = serializers.CharField(help_text="PUT the file's bytes here, before it expires.")
    uploadHeaders = serializers.DictField(
        child=serializers.CharField(), help_text="Headers the PUT must send, as signed."
    )
    s3Key = serializers.CharField()
    expiresIn = serializers.IntegerField(help_text="Seconds the uploadUrl is good for.")
    completeUrl = serializers.CharField(help_text="POST here once the PUT has succeeded.")


class CompleteUploadSerializer(QueuedConversionSerializer):
    """A submission's options, given when the upload is complete (retention was set before)."""

    retentionDays = None


class CompletedUploadSerializer(SubmittedDocumentSerializer):
    message = serializers.CharField()


class DocumentStatusSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=Document.Status.choices)
    fileName = serializers.CharField()
    error = serializers.CharField(required=False)
    metadata = serializers.DictField(required=False)


class DocumentSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=Document.Status.choices)
    fileName = serializers.CharField(source="file_name")
    fileSize = serializers.IntegerField(source="file_size")
    mimeType = serializers.CharField(source="mime_type")
    engine = serializers.CharField()
    pages = serializers.IntegerField(allow_null=True)
    batchId = serializers.CharField(source="batch_id", allow_null=True)
    error = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    processedAt = serializers.DateTimeField(source="processed_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at")


class DocumentContentSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    fileName = serializers.CharField()
    content = serializers.CharField()
    metadata = serializers.DictField()
    deliveries = DeliverySerializer(many=True, help_text="Its webhook deliveries.")


class ConvertSerializer(ConversionOptionsSerializer):
    file = serializers.FileField(allow_empty_file=True)
    format = serializers.ChoiceField(choices=["markdown", "json"], default="markdown")


class ConvertedDocumentSerializer(serializers.Serializer):
    id = serializers.CharField()
    content = serializers.CharField()
    metadata = serializers.DictField()
    usage = serializers.DictField()
    downloadUrl = serializers.CharField()


MAX_PAGE_SIZE = 1000  # documents per page of a list, at most (README, API)
DEFAULT_PAGE_SIZE = 50


class DocumentListQuerySerializer(serializers.Serializer):
    """The list's query: a bad value is a 400 naming it, never passed on to the database (where
    a 20-digit limit overflows and a NUL byte cannot be compared) nor silently replaced."""

    status = serializers.ChoiceField(
        choices=Document.Status.choices, required=False, allow_blank=True
    )
    batchId = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )
    offset = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        default=0,  # the databases' integers
    )


class DocumentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DocumentSummarySerializer(many=True)
