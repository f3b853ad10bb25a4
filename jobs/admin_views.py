"""The queue dashboard page of the admin: a template render over `jobs.dashboard`'s figures."""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from ilios.admin_support import require_permission
from jobs import dashboard as figures
from jobs import queue


def dashboard(request):
    require_permission(request, "jobs.view_job")
    if request.method == "POST":
        require_permission(request, "jobs.change_job")
        recovered = queue.recover_orphans()
        messages.success(request, f"Requeued {recovered} orphaned job(s).")
        return redirect("ilios-dashboard")
    context = {**admin.site.each_context(request), "title": "Queue dashboard", **figures.figures()}
    return TemplateResponse(request, "admin/jobs/dashboard.html", context)
