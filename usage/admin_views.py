"""The billing page of the admin: a form over `usage.statement`, as HTML or CSV."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from ilios.admin_support import require_permission
from usage import statement


class BillingForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(choices=[(p, p) for p in statement.PERIODS], initial="month")

    def clean(self):
        cleaned = self.cleaned_data
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date must not be after the end date.")
        return cleaned

    def billing_range(self) -> statement.BillingRange:
        return statement.BillingRange(**self.cleaned_data)


def billing(request):
    require_permission(request, "usage.view_usagerecord")
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
    return TemplateResponse(request, "admin/usage/billing.html", context)
