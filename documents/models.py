from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from ilios.ids import new_id

# What a client may ask for, and what it gets when it does not ask: a queue priority from 0
# (lowest) to 10, and the days a document is kept before it is archived.
PRIORITY_RANGE = (0, 10)
DEFAULT_PRIORITY = 5
RETENTION_DAYS_RANGE = (1, 3650)
DEFAULT_RETENTION_DAYS = 365


class Document(models.Model):
    class Status(models.TextChoices):
        # Created by `upload-url` and waiting for the client's own PUT to the bucket: no job
        # exists, so no worker can claim it; `upload-complete` makes it pending.
        UPLOADING = "uploading"
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"
        ARCHIVED = "archived"

    FINISHED = (Status.COMPLETED, Status.FAILED)
    UNFINISHED = (Status.UPLOADING, Status.PENDING, Status.PROCESSING)

    id = models.CharField(primary_key=True, max_length=26, default=new_id, editable=False)
    file_name = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100)
    file_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    original = models.CharField(max_length=500, blank=True, help_text="Storage key.")
    content = models.TextField(blank=True)
    pages = models.IntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    engine = models.CharField(max_length=20)
    priority = models.SmallIntegerField(
        default=DEFAULT_PRIORITY,
        validators=[MinValueValidator(PRIORITY_RANGE[0]), MaxValueValidator(PRIORITY_RANGE[1])],
    )
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    batch_position = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Its place in its batch's upload order (imported: its row in the original's).",
    )
    api_key = models.ForeignKey(
        "ilios.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retention_days = models.IntegerField(
        default=DEFAULT_RETENTION_DAYS,
        validators=[
            MinValueValidator(RETENTION_DAYS_RANGE[0]),
            MaxValueValidator(RETENTION_DAYS_RANGE[1]),
        ],
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.CharField(
        max_length=2000, blank=True, help_text="Where its completion or failure is announced."
    )
    # A default in the database too: API hosts still on the previous release insert documents
    # without the column while a rolling upgrade migrates (and so does bench.frontdoor's baseline).
    cache_key = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        help_text="What its conversion depends on (documents.cache): bytes, engine, options.",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["api_key", "status"]),
            models.Index(
                fields=["expires_at"],
                name="documents_expiry_idx",
                condition=~models.Q(status="archived"),
            ),
            # Ends in `id`: the newest copy of a key is the index's last entry for it, found
            # without reading the others (a file resubmitted daily has thousands).
            models.Index(
                fields=["api_key", "cache_key", "id"],
                name="documents_cache_newest_idx",
                condition=models.Q(status="completed"),
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.id})"

    def save(self, *args, **kwargs):
        self.set_expiry()
        super().save(*args, **kwargs)

    def set_expiry(self) -> None:
        """Needed before bulk_create too, which does not call save()."""
        if self.expires_at is None:
            self.expires_at = self.created_at + timedelta(days=self.retention_days)


def status_body(document_id: str, status: str, file_name: str, error: str, metadata) -> dict:
    """A document's status as the API answers it (`GET /v1/documents/{id}/status`), and as its
    webhooks announce it."""
    body = {"id": document_id, "status": status, "fileName": file_name}
    if error:
        body["error"] = error
    if metadata:
        body["metadata"] = metadata
    return body
