"""Batches in the admin: progress at a glance, their documents one click away."""

from django.contrib import admin

from batches.models import Batch
from documents.models import Document
from ilios.admin_support import changelist_link
from jobs.admin import RetryFailedMixin
from jobs.models import Job


@admin.register(Batch)
class BatchAdmin(RetryFailedMixin):
    list_display = (
        "id",
        "status",
        "progress",
        "api_key",
        "priority",
        "created_at",
        "completed_at",
        "documents",
    )
    list_filter = ("status", ("api_key", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("id",)
    date_hierarchy = "created_at"
    list_select_related = ("api_key",)
    readonly_fields = ("progress", "documents")
    actions = ("retry_failed",)

    @admin.display(description="done / failed / total")
    def progress(self, batch):
        return f"{batch.completed_documents} / {batch.failed_documents} / {batch.total_documents}"

    @admin.display(description="documents")
    def documents(self, batch):
        return changelist_link(Document, f"{batch.total_documents} document(s)", batch=batch.id)

    retried_noun = "document"

    def failed_jobs(self, queryset):
        return Job.objects.filter(document__batch__in=queryset, status=Job.Status.FAILED)

    def selected_count(self, queryset, failed_job_ids):
        return len(failed_job_ids)
