from django.db import models
from django.utils import timezone

from usage import money


class UsageRecord(models.Model):
    """One successful conversion, billed (a `cached` re-run counts its pages at no cost). Money
    is integer micro-dollars: a Mistral page costs $0.001, which whole cents cannot hold, and
    floats cannot add up exactly."""

    class Operation(models.TextChoices):
        CONVERT = "convert", "queued conversion"
        SYNC_CONVERT = "sync_convert", "synchronous conversion"
        MISTRAL_BATCH = "mistral_batch", "conversion through Mistral's Batch API"
        CACHED = "cached", "re-run answered from an earlier conversion"

    document = models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="usage_records",
    )
    api_key = models.ForeignKey(
        "ilios.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    operation = models.CharField(max_length=32, choices=Operation.choices)
    engine = models.CharField(max_length=20)
    pages = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    base_cost_micros = models.BigIntegerField(default=0)
    margin_rate = models.DecimalField(max_digits=8, decimal_places=4)
    total_cost_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database itself refuses a second bill for the same document.
            models.UniqueConstraint(fields=["document"], name="one_usage_record_per_document"),
        ]

    def __str__(self):
        return f"{self.operation} {self.pages}p {money.dollars(self.total_cost_micros)}"
