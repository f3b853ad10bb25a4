from django.db import models
from django.utils import timezone

from documents.models import DEFAULT_PRIORITY


class Worker(models.Model):
    """One `runworkers` process. Its heartbeat tells the others whether its jobs are orphans."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        STOPPING = "stopping"
        STOPPED = "stopped"
        DEAD = "dead"

    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    concurrency = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    jobs_completed = models.IntegerField(default=0)
    jobs_failed = models.IntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.hostname}:{self.pid}"


class Job(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Type(models.TextChoices):
        CONVERT = "convert"

    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    type = models.CharField(max_length=32, choices=Type.choices, default=Type.CONVERT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(default=DEFAULT_PRIORITY)
    attempts = models.IntegerField(default=0)
    max_attempts = models.IntegerField(default=3, help_text="JOB_MAX_ATTEMPTS when queued.")
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    scheduled_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The claim query: ready jobs, highest priority first, then oldest.
            models.Index(
                fields=["-priority", "scheduled_at", "id"],
                condition=models.Q(status="pending"),
                name="jobs_claim_idx",
            ),
            models.Index(
                fields=["worker", "started_at"],
                condition=models.Q(status="processing"),
                name="jobs_processing_idx",
            ),
            models.Index(fields=["status", "completed_at"], name="jobs_status_completed_idx"),
        ]

    def __str__(self):
        return f"{self.type} job {self.id} ({self.status})"
