"""The admin's own pages: the queue dashboard and the billing statement (thin views)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from ilios import dashboard as figures
from jobs import queue
from usage import statement


def require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def dashboard(request):
    require(request, "jobs.view_job")
    if request.method == "POST":
        require(request, "jobs.change_job")
        recovered = queue.recover_orphans()
        messages.success(request, f"Requeued {recovered} orphaned job(s).")
        return redirect("ilios-dashboard")
    context = {**admin.site.each_context(request), "title": "Queue dashboard", **figures.figures()}
    return TemplateResponse(request, "admin/ilios/dashboard.html", context)


class BillingForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(choices=[(p, p) for p in statement.PERIODS], initial="month")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date must not be after the end date.")
        return cleaned

    def billing_range(self) -> statement.BillingRange:
        return statement.BillingRange(**self.cleaned_data)


def billing(request):
    require(request, "usage.view_usagerecord")
    default = statement.this_month(timezone.now().date())
    form = BillingForm(
        {"start": default.start, "end": default.end, "period": "month", **request.GET.dict()}
    )
    billing_range = form.billing_range() if form.is_valid() else default
    report = statement.statement(billing_range)
    if request.GET.get("format") == "csv":
        response = HttpResponse(statement.csv_text(report["lines"]), content_type="text/csv")
        name = f"ilios-billing-{billing_range.start}-{billing_range.end}-{billing_range.period}"
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    context = {
        **admin.site.each_context(request),
        "title": "Billing",
        "form": form,
        "range": billing_range,
        **report,
    }
    return TemplateResponse(request, "admin/ilios/billing.html", context)
