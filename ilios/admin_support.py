"""What the admin modules share: read-only queue models, links between related objects (so an
operator follows a document to its job, batch and usage record and back without copying ids)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html


def require_permission(request, permission: str) -> None:
    """For the admin's own pages, which `ModelAdmin` permissions do not cover."""
    if not request.user.has_perm(permission):
        raise PermissionDenied


def change_link(obj, text=None):
    """A link to `obj`'s admin page, or a dash when there is no object."""
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


def changelist_link(model, text, **filters):
    """A link to `model`'s admin list, filtered by the given lookups (e.g. document__id__exact)."""
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), text)


class QueueStateAdmin(admin.ModelAdmin):
    """Rows whose states only the queue may change: shown read-only, changed through actions.

    Editing a status by hand would break the queue's promises (a worker holding the job, batch
    counters, billing), so add, change and delete are off; actions that call the queue's own
    functions need the model's change permission ("operate").
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def report(self, request, done: int, selected: int, did: str, left_alone: str) -> None:
        """Say what an action did: `did` and `left_alone` are phrases taking a count."""
        text = f"{did.format(done)}."
        if selected > done:
            text += f" {left_alone.format(selected - done)}."
        self.message_user(request, text, messages.SUCCESS if done else messages.WARNING)
