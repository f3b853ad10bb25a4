"""Usage totals, shared by the usage API and the operators' billing view so both always agree.

Sums are taken in integer micro-dollars by the database and only converted to cents (a Decimal,
since a Mistral page is 0.13 cent with margin) at the edge.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth

from usage.models import UsageRecord
from usage.money import cents

_SUMS = {
    "documents": Count("document", distinct=True),
    "operations": Count("id"),
    "pages": Sum("pages"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "base_micros": Sum("base_cost_micros"),
    "total_micros": Sum("total_cost_micros"),
}


def day_start(day: date) -> datetime:
    """A date range starts at its first day's first moment, UTC."""
    return datetime.combine(day, time.min, UTC)


def day_end(day: date) -> datetime:
    """A date range ends at its last day's last moment, UTC: the end date's usage is in it."""
    return datetime.combine(day, time.max, UTC)


def records(api_key=None, start=None, end=None, *, all_keys: bool = False):
    """Usage records in [start, end]; one key's (None: the keyless ones) unless all_keys."""
    filters = Q()
    if not all_keys:
        filters &= Q(api_key=api_key)
    if start:
        filters &= Q(created_at__gte=start)
    if end:
        filters &= Q(created_at__lte=end)
    return UsageRecord.objects.filter(filters)


def totals(sums: dict) -> dict:
    base = sums.get("base_micros") or 0
    total = sums.get("total_micros") or 0
    return {
        "totalDocuments": sums.get("documents") or 0,
        "totalOperations": sums.get("operations") or 0,
        "totalPages": sums.get("pages") or 0,
        "totalInputTokens": sums.get("input_tokens") or 0,
        "totalOutputTokens": sums.get("output_tokens") or 0,
        "baseCostCents": cents(base),
        "marginCostCents": cents(total - base),
        "totalCostCents": cents(total),
        "totalCostMicros": total,
    }


def summary(queryset) -> dict:
    return totals(queryset.aggregate(**_SUMS))


def breakdown(queryset) -> dict:
    by_day = (
        queryset.annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(**_SUMS)
        .order_by("day")
    )
    by_operation = (
        queryset.values("operation", "engine").annotate(**_SUMS).order_by("operation", "engine")
    )
    return {
        "byDay": [{"date": row["day"].date().isoformat(), **totals(row)} for row in by_day],
        "byOperation": [
            {"operation": row["operation"], "engine": row["engine"], **totals(row)}
            for row in by_operation
        ],
    }


def per_key(queryset, period: str = "month") -> list[dict]:
    """Rows of (api key, period start, totals) for the billing view; period is day or month."""
    trunc = TruncDay if period == "day" else TruncMonth
    rows = (
        queryset.annotate(period=trunc("created_at"))
        .values("api_key", "api_key__name", "api_key__prefix", "period")
        .annotate(**_SUMS)
        .order_by("period", "api_key__name")
    )
    return [
        {
            "apiKeyId": row["api_key"],
            "apiKeyName": row["api_key__name"] or "(no key)",
            "apiKeyPrefix": row["api_key__prefix"] or "",
            "period": row["period"].date().isoformat(),
            **totals(row),
        }
        for row in rows
    ]
