"""Usage records in the admin: billing history, never editable."""

from django.contrib import admin

from ilios.admin_support import QueueStateAdmin, change_link
from usage.models import UsageRecord
from usage.money import dollars


@admin.register(UsageRecord)
class UsageRecordAdmin(QueueStateAdmin):
    list_display = (
        "created_at",
        "document_link",
        "api_key",
        "operation",
        "engine",
        "pages",
        "base_cost",
        "margin_rate",
        "total_cost",
    )
    list_filter = (
        "engine",
        "operation",
        ("api_key", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("document__id", "document__file_name")
    date_hierarchy = "created_at"
    list_select_related = ("document", "api_key")
    readonly_fields = ("document_link", "base_cost", "total_cost")

    @admin.display(description="document", ordering="document")
    def document_link(self, record):
        return change_link(record.document, record.document and record.document.file_name)

    @admin.display(description="base cost", ordering="base_cost_micros")
    def base_cost(self, record):
        return dollars(record.base_cost_micros)

    @admin.display(description="total cost", ordering="total_cost_micros")
    def total_cost(self, record):
        return dollars(record.total_cost_micros)
