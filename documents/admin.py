"""Documents in the admin: read-only rows, changed only through the queue's own functions."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from documents import retention
from documents.models import Document
from ilios.admin_support import change_link, changelist_link
from jobs import queue
from jobs.admin import RetryFailedMixin
from jobs.models import Delivery, Job
from usage.money import dollars

CONTENT_PREVIEW_CHARS = 3000


@admin.register(Document)
class DocumentAdmin(RetryFailedMixin):
    list_display = (
        "id",
        "file_name",
        "status",
        "engine",
        "pages",
        "api_key",
        "batch_link",
        "created_at",
        "processed_at",
    )
    list_filter = (
        "status",
        "engine",
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "processed_at",
    )
    search_fields = ("id", "file_name", "sha256")
    date_hierarchy = "created_at"
    list_select_related = ("api_key",)
    fieldsets = (
        (None, {"fields": ("id", "file_name", "status", "error", "engine", "priority")}),
        ("Links", {"fields": ("api_key", "batch_link", "jobs", "usage", "webhooks")}),
        ("File", {"fields": ("mime_type", "file_size", "sha256", "original")}),
        ("Result", {"fields": ("pages", "metadata", "content_preview")}),
        (
            "Dates",
            {
                "fields": (
                    "created_at",
                    "processed_at",
                    "retention_days",
                    "expires_at",
                    "archived_at",
                )
            },
        ),
    )
    readonly_fields = ("batch_link", "jobs", "usage", "webhooks", "content_preview")
    actions = ("retry_failed", "cancel_pending", "archive_now")

    @admin.display(description="batch", ordering="batch")
    def batch_link(self, document):
        return change_link(document.batch, document.batch_id) if document.batch_id else "—"

    @admin.display(description="jobs")
    def jobs(self, document):
        jobs = document.jobs.order_by("id")
        if not jobs:
            return "—"
        return format_html_join(
            ", ", "{}", ((change_link(job, f"#{job.id} {job.status}"),) for job in jobs)
        )

    @admin.display(description="usage record")
    def usage(self, document):
        record = document.usage_records.first()
        if record is None:
            return "—"
        return change_link(record, f"{record.pages} page(s), {dollars(record.total_cost_micros)}")

    @admin.display(description="webhooks")
    def webhooks(self, document):
        if not document.webhook_url:
            return "—"
        return changelist_link(Delivery, document.webhook_url, document__id__exact=document.pk)

    @admin.display(description="content (start)")
    def content_preview(self, document):
        if not document.content:
            return "—"
        return format_html(
            '<pre style="white-space: pre-wrap; max-height: 30em; overflow: auto">{}</pre>',
            document.content[:CONTENT_PREVIEW_CHARS],
        )

    def failed_jobs(self, queryset):
        return Job.objects.filter(document__in=queryset, status=Job.Status.FAILED)

    @admin.action(description="Cancel selected pending documents", permissions=["operate"])
    def cancel_pending(self, request, queryset):
        cancelled = queue.cancel_pending(list(queryset.values_list("id", flat=True)))
        self.report(
            request,
            cancelled,
            queryset.count(),
            "Cancelled {} pending document(s)",
            "{} selected document(s) were not pending (a claimed one runs to its end)",
        )

    @admin.action(description="Archive selected documents now", permissions=["operate"])
    def archive_now(self, request, queryset):
        archived = sum(
            retention.archive(document)
            for document in queryset.select_related(None).only("id", "original")
        )
        self.report(
            request,
            archived,
            queryset.count(),
            "Archived {} document(s): content and original deleted",
            "{} selected document(s) were still queued or already archived",
        )
