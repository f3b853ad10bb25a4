"""Usage endpoints: the caller's own usage only."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ilios.errors import ApiError
from ilios.openapi import ERROR_RESPONSES
from usage import reports

PERIOD_PARAMETERS = [
    OpenApiParameter("startDate", str, description="ISO 8601 date or date-time (inclusive)"),
    OpenApiParameter("endDate", str, description="ISO 8601 date or date-time (inclusive)"),
]

_TOTAL_FIELDS: dict[str, serializers.Field] = {
    "totalDocuments": serializers.IntegerField(),
    "totalOperations": serializers.IntegerField(),
    "totalPages": serializers.IntegerField(),
    "totalInputTokens": serializers.IntegerField(),
    "totalOutputTokens": serializers.IntegerField(),
    "baseCostCents": serializers.FloatField(),
    "marginCostCents": serializers.FloatField(),
    "totalCostCents": serializers.FloatField(),
    "totalCostMicros": serializers.IntegerField(),
}


def parse_moment(request, name: str, *, end: bool) -> datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    moment: datetime | None
    try:
        # A bare date first: parse_datetime reads "2026-03-31" as its midnight, which would
        # leave the end date's own usage out.
        if day := parse_date(raw):
            moment = reports.day_end(day) if end else reports.day_start(day)
        else:
            moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "invalid_date",
            f"{name} must be an ISO 8601 date or date-time, got {raw!r}",
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def caller_records(request):
    start = parse_moment(request, "startDate", end=False)
    end = parse_moment(request, "endDate", end=True)
    if start and end and start > end:
        raise ApiError(
            status.HTTP_400_BAD_REQUEST, "invalid_date", "startDate must not be after endDate"
        )
    return start, end, reports.records(request.auth, start, end)


class UsageSummaryView(APIView):
    @extend_schema(
        operation_id="usage_summary",
        summary="Usage totals for a period",
        parameters=PERIOD_PARAMETERS,
        responses={
            200: inline_serializer(
                "UsageSummary",
                fields={
                    "startDate": serializers.DateTimeField(allow_null=True),
                    "endDate": serializers.DateTimeField(allow_null=True),
                    **_TOTAL_FIELDS,
                },
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request):
        start, end, records = caller_records(request)
        return Response({"startDate": start, "endDate": end, **_numbers(reports.summary(records))})


class UsageBreakdownView(APIView):
    @extend_schema(
        operation_id="usage_breakdown",
        summary="Usage by day and by operation and engine",
        parameters=PERIOD_PARAMETERS,
        responses={
            200: inline_serializer(
                "UsageBreakdown",
                fields={
                    "startDate": serializers.DateTimeField(allow_null=True),
                    "endDate": serializers.DateTimeField(allow_null=True),
                    "byDay": inline_serializer(
                        "UsageDay",
                        many=True,
                        fields={"date": serializers.DateField(), **_TOTAL_FIELDS},
                    ),
                    "byOperation": inline_serializer(
                        "UsageOperation",
                        many=True,
                        fields={
                            "operation": serializers.CharField(),
                            "engine": serializers.CharField(),
                            **_TOTAL_FIELDS,
                        },
                    ),
                },
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request):
        start, end, records = caller_records(request)
        split = reports.breakdown(records)
        return Response(
            {
                "startDate": start,
                "endDate": end,
                "byDay": [_numbers(row) for row in split["byDay"]],
                "byOperation": [_numbers(row) for row in split["byOperation"]],
            }
        )


def _numbers(totals: dict) -> dict:
    """Cents are exact Decimals; JSON gets them as numbers (e.g. 0.13), not strings."""
    return {key: float(value) if key.endswith("Cents") else value for key, value in totals.items()}
