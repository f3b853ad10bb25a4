"""Jobs and workers in the admin: read-only, with the queue's operations as actions."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from ilios import dashboard
from ilios.admin_support import QueueStateAdmin, change_link, changelist_link
from jobs import queue
from jobs.models import Job, Worker


class RequeueOrphansMixin:
    @admin.action(
        description="Requeue orphaned jobs (dead worker or past JOB_TIMEOUT; checks all jobs)",
        permissions=["operate"],
    )
    def requeue_orphans(self, request, queryset):
        recovered = queue.recover_orphans()
        self.report(request, recovered, recovered, "Requeued {} orphaned job(s)", "")


@admin.register(Job)
class JobAdmin(RequeueOrphansMixin, QueueStateAdmin):
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

    @admin.action(
        description="Retry selected failed jobs (fresh attempts)", permissions=["operate"]
    )
    def retry_failed(self, request, queryset):
        retried = queue.retry_now(list(queryset.values_list("id", flat=True)))
        self.report(
            request,
            retried,
            queryset.count(),
            "Requeued {} failed job(s)",
            "{} selected job(s) had not failed and were left alone",
        )

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
class WorkerAdmin(RequeueOrphansMixin, QueueStateAdmin):
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
