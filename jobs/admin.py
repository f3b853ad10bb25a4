"""Jobs, workers and webhook deliveries in the admin: read-only, with the queue's operations
as actions."""

import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from ilios.admin_support import QueueStateAdmin, change_link, changelist_link
from jobs import dashboard, queue
from jobs.models import Delivery, Job, Worker


class RetryFailedMixin(QueueStateAdmin):
    """ "Retry failed" for every admin whose rows lead to failed jobs (jobs, documents, batches),
    through the queue's own `retry_now`."""

    def failed_jobs(self, queryset):
        """The failed jobs behind the selected rows."""
        raise NotImplementedError

    def selected_count(self, queryset, failed_job_ids: list[int]) -> int:
        """How many of the selected rows could have been retried, for the action's message."""
        return queryset.count()

    @admin.action(description="Retry failed conversions (fresh attempts)", permissions=["operate"])
    def retry_failed(self, request, queryset):
        failed_job_ids = list(self.failed_jobs(queryset).values_list("id", flat=True))
        retried = queue.retry_now(failed_job_ids)
        noun = self.retried_noun
        self.report(
            request,
            retried,
            self.selected_count(queryset, failed_job_ids),
            f"Requeued {{}} failed {noun}(s)",
            f"{{}} selected {noun}(s) had not failed and were left alone",
        )

    @property
    def retried_noun(self) -> str:
        return str(self.opts.verbose_name)


class RequeueOrphansMixin(QueueStateAdmin):
    @admin.action(
        description="Requeue orphaned jobs (dead worker or past JOB_TIMEOUT; checks all jobs)",
        permissions=["operate"],
    )
    def requeue_orphans(self, request, queryset):
        recovered = queue.recover_orphans()
        self.report(request, recovered, recovered, "Requeued {} orphaned job(s)", "")


@admin.register(Job)
class JobAdmin(RetryFailedMixin, RequeueOrphansMixin):
    list_display = (
        "id",
        "type",
        "status",
        "document_link",
        "priority",
        "attempts_used",
        "worker_link",
        "scheduled_at",
        "started_at",
        "completed_at",
        "short_error",
    )
    list_filter = (
        "status",
        "type",
        "document__engine",
        ("document__api_key", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "completed_at",
    )
    search_fields = ("=id", "document__id", "document__file_name")
    date_hierarchy = "created_at"
    list_select_related = ("document", "worker")
    readonly_fields = ("document_link", "worker_link", "attempts_used")
    actions = ("retry_failed", "cancel_pending", "requeue_orphans")

    @admin.display(description="document", ordering="document")
    def document_link(self, job):
        return change_link(job.document, job.document and job.document.file_name)

    @admin.display(description="worker", ordering="worker")
    def worker_link(self, job):
        return change_link(job.worker)

    @admin.display(description="attempts")
    def attempts_used(self, job):
        return f"{job.attempts} / {job.max_attempts}"

    @admin.display(description="error")
    def short_error(self, job):
        return job.error[:80]

    def failed_jobs(self, queryset):
        return queryset.filter(status=Job.Status.FAILED)

    @admin.action(description="Cancel selected pending jobs", permissions=["operate"])
    def cancel_pending(self, request, queryset):
        pending = queryset.filter(status=Job.Status.PENDING).exclude(document=None)
        cancelled = queue.cancel_pending(list(pending.values_list("document_id", flat=True)))
        self.report(
            request,
            cancelled,
            queryset.count(),
            "Cancelled {} pending job(s)",
            "{} selected job(s) were not pending (a claimed one runs to its end)",
        )


@admin.register(Worker)
class WorkerAdmin(RequeueOrphansMixin):
    list_display = (
        "id",
        "hostname",
        "pid",
        "health",
        "heartbeat_age",
        "concurrency",
        "jobs_completed",
        "jobs_failed",
        "running_jobs",
        "started_at",
        "stopped_at",
    )
    list_filter = ("status", "hostname", "started_at")
    search_fields = ("hostname", "=pid")
    readonly_fields = ("health", "heartbeat_age", "running_jobs")
    actions = ("requeue_orphans",)

    @admin.display(description="status", ordering="status")
    def health(self, worker):
        if dashboard.looks_dead(worker, timezone.now()):
            return format_html('<strong style="color: #ba2121">{} (dead)</strong>', worker.status)
        return worker.status

    @admin.display(description="heartbeat age", ordering="-last_heartbeat")
    def heartbeat_age(self, worker):
        return f"{dashboard.heartbeat_age(worker, timezone.now()):.1f} s"

    @admin.display(description="jobs")
    def running_jobs(self, worker):
        return changelist_link(Job, "jobs", worker=worker.pk)


@admin.register(Delivery)
class DeliveryAdmin(QueueStateAdmin):
    """Each webhook message: where it goes, how its attempts went, and "retry now"."""

    list_display = (
        "id",
        "event",
        "url",
        "outcome_shown",
        "attempts_used",
        "last_status_code",
        "next_try",
        "subject",
        "created_at",
    )
    list_filter = (
        "event",
        "job__status",
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("=id", "url", "document__id", "batch__id")
    date_hierarchy = "created_at"
    list_select_related = ("job",)
    fields = (
        "id",
        "event",
        "url",
        "outcome_shown",
        "attempts_used",
        "last_status_code",
        "last_error",
        "next_try",
        "subject",
        "job_link",
        "api_key",
        "created_at",
        "body_shown",
    )
    readonly_fields = fields
    actions = ("retry_now",)

    @admin.display(description="outcome", ordering="job__status")
    def outcome_shown(self, delivery):
        return delivery.outcome

    @admin.display(description="attempts")
    def attempts_used(self, delivery):
        return f"{delivery.job.attempts} / {delivery.job.max_attempts}"

    @admin.display(description="next try", ordering="job__scheduled_at")
    def next_try(self, delivery):
        return delivery.next_attempt_at or "—"

    @admin.display(description="last error")
    def last_error(self, delivery):
        return delivery.job.error or "—"

    @admin.display(description="about")
    def subject(self, delivery):
        if delivery.document_id:
            return change_link(delivery.document, delivery.document_id)
        return change_link(delivery.batch, delivery.batch_id)

    @admin.display(description="job")
    def job_link(self, delivery):
        return change_link(delivery.job)

    @admin.display(description="body")
    def body_shown(self, delivery):
        return format_html("<pre>{}</pre>", json.dumps(delivery.body, indent=2))

    @admin.action(
        description="Retry now (waiting: at once; given up: a fresh set of attempts)",
        permissions=["operate"],
    )
    def retry_now(self, request, queryset):
        jobs = Job.objects.filter(delivery__in=queryset)
        given_up = list(jobs.filter(status=Job.Status.FAILED).values_list("id", flat=True))
        waiting = list(jobs.filter(status=Job.Status.PENDING).values_list("id", flat=True))
        retried = queue.retry_now(given_up) + queue.bring_forward(waiting)
        self.report(
            request,
            retried,
            queryset.count(),
            "Retrying {} webhook delivery(ies) now",
            "{} selected delivery(ies) were delivered or being sent and were left alone",
        )
