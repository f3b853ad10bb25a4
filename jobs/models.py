from django.db import models
from django.utils import timezone

from documents.models import DEFAULT_PRIORITY
from ilios.ids import new_id


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
        WAITING = "waiting"  # a fanned-out document's job, while its parts convert (jobs.fanout)

    class Type(models.TextChoices):
        CONVERT = "convert"
        WEBHOOK = "webhook"  # sends one Delivery (jobs.webhooks)
        MISTRAL_BATCH = (
            "mistral_batch"  # a batch through Mistral's Batch API (jobs.mistral_batches)
        )

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
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="parts",
        help_text="The waiting job of the document this part (a page range) belongs to.",
    )
    parts_left = models.IntegerField(
        null=True, blank=True, help_text="A fanned-out job's parts not yet converted."
    )
    # db_default: hosts still on the previous release insert jobs without it (rolling upgrades).
    pages_done = models.IntegerField(
        default=0, db_default=0, help_text="Pages its converted parts hold."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The claim query: ready jobs of one type, highest priority first, then oldest. The
            # type leads so that deliveries backing off never lie in a conversion claim's way.
            models.Index(
                fields=["type", "-priority", "scheduled_at", "id"],
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


def new_message_id() -> str:
    return "msg_" + new_id()


class Delivery(models.Model):
    """One webhook message and its job, which sends it until the receiver takes it.

    Written in the transaction that records the outcome it announces (`jobs.outcomes`), so a
    crash can neither lose nor invent one. Its id is the `webhook-id` of every attempt, so a
    receiver de-duplicates the retries of an at-least-once delivery; its body is fixed then too.
    Whether it was delivered, is retrying or gave up is its job's state (`outcome`).
    """

    class Event(models.TextChoices):
        DOCUMENT_COMPLETED = "document.completed"
        DOCUMENT_FAILED = "document.failed"
        BATCH_COMPLETED = "batch.completed"

    class Outcome(models.TextChoices):
        PENDING = "pending"  # not tried yet
        SENDING = "sending"
        RETRYING = "retrying"  # an attempt failed; the next one is due at `next_attempt_at`
        DELIVERED = "delivered"
        FAILED = "failed"  # given up: a permanent refusal, or retries ran out
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="delivery")
    event = models.CharField(max_length=32, choices=Event.choices)
    url = models.CharField(max_length=2000)
    body = models.JSONField(help_text="The JSON sent, fixed when the event happened.")
    document = models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    api_key = models.ForeignKey(
        "ilios.ApiKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose secret signs it (WEBHOOK_SECRET when the key has none).",
    )
    last_status_code = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        verbose_name = "webhook delivery"

    def __str__(self):
        return f"{self.event} {self.id}"

    @property
    def outcome(self) -> str:
        job = self.job
        if job.status == Job.Status.COMPLETED:
            return self.Outcome.DELIVERED
        if job.status == Job.Status.FAILED:
            return self.Outcome.FAILED
        if job.status == Job.Status.CANCELLED:
            return self.Outcome.CANCELLED
        if job.status == Job.Status.PROCESSING:
            return self.Outcome.SENDING
        return self.Outcome.RETRYING if job.attempts else self.Outcome.PENDING

    @property
    def next_attempt_at(self):
        return self.job.scheduled_at if self.job.status == Job.Status.PENDING else None
