from django.db import models
from django.utils import timezone

from documents.models import DEFAULT_PRIORITY, DEFAULT_RETENTION_DAYS
from ilios.ids import new_id


class Batch(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=26, default=new_id, editable=False)
    api_key = models.ForeignKey(
        "ilios.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    total_documents = models.IntegerField(default=0)
    completed_documents = models.IntegerField(default=0)
    failed_documents = models.IntegerField(default=0)
    cancelled_documents = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(default=DEFAULT_PRIORITY)
    retention_days = models.IntegerField(default=DEFAULT_RETENTION_DAYS)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    webhook_url = models.CharField(
        max_length=2000, blank=True, help_text="Where its documents and its end are announced."
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "batches"

    def __str__(self):
        return f"batch {self.id}"

    def documents_in_upload_order(self):
        """As the files came in the request: clients match results to their files by position.

        Ids cannot give that order, being random among those made in the same millisecond.
        Documents imported from the original service are placed by their row in its database,
        where it inserted them as the files came.
        """
        return self.documents.order_by("batch_position", "created_at", "id")
