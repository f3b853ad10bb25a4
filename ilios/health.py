"""`/`, `/health` and `/metrics`: cheap, outside the API keys, and honest about what is down.

`/health` answers 503 when the database cannot be reached or originals cannot be stored (a full
or read-only disk, an unreachable bucket), so a load balancer stops sending uploads there. Its
`services.database` and `services.s3` say what the original service's said, beside the details.
`/metrics` is for Prometheus, behind METRICS_TOKEN when one is set.
"""

from __future__ import annotations

import functools
import hmac

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import engines, storage
from ilios import metrics
from ilios.errors import ApiError
from ilios.openapi import error_response
from jobs import dashboard

# Pages for people, listed by the index beside the API's operations.
PAGES = {
    "GET /docs": "Swagger UI",
    "GET /redoc": "ReDoc",
    "GET /openapi.json": "OpenAPI 3 schema",
    "GET /admin/": "operator console",
    "GET /playground": "try a conversion in the browser",
}


@functools.cache
def endpoints() -> dict[str, str]:
    """Every operation of the API, as the OpenAPI schema generated from the URLconf names it,
    then the pages; the original service's aliases (deprecated in the schema) are left out.

    Generated once per process, so the index can never list an endpoint that does not exist.
    """
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        f"{method.upper()} {path}": operation["summary"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if not operation.get("deprecated")
    }
    return {**operations, **PAGES}


class IndexView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="index",
        summary="List the endpoints",
        responses=inline_serializer(
            "Index",
            fields={
                "name": serializers.CharField(),
                "version": serializers.CharField(),
                "endpoints": serializers.DictField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request):
        return Response(
            {
                "name": "Ilios",
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                "endpoints": endpoints(),
            }
        )


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="health",
        summary="Service health",
        responses={
            200: inline_serializer(
                "Health",
                fields={
                    "status": serializers.CharField(),
                    "timestamp": serializers.DateTimeField(),
                    "services": serializers.DictField(),
                },
            ),
            503: inline_serializer(
                "Unhealthy",
                fields={
                    "status": serializers.CharField(),
                    "timestamp": serializers.DateTimeField(),
                    "services": serializers.DictField(),
                },
            ),
        },
    )
    def get(self, request):
        stored = storage.check()
        services = {
            "database": _database(),
            "s3": _s3(stored),
            "storage": stored,
            "engine": engines.resolve(None),
        }
        if services["database"] == "connected":
            services["workers"] = dashboard.health()
        healthy = services["database"] == "connected" and (
            services["storage"]["status"] == "available"
        )
        return Response(
            {
                "status": "healthy" if healthy else "unhealthy",
                "timestamp": timezone.now(),
                "services": services,
            },
            status=200 if healthy else 503,
        )


def _s3(stored: dict) -> str:
    """The original service's own word for its bucket, which its clients and monitors read:
    `configured` while originals go to a bucket that answers."""
    if stored["backend"] != "s3":
        return "not configured"
    return "configured" if stored["status"] == "available" else "unavailable"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "connected"
    except DatabaseError:
        return "unreachable"


class MetricsView(APIView):
    """Prometheus' scrape. Not under the API keys (a monitoring system holds none): its own
    token, METRICS_TOKEN, when set."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="metrics",
        summary="Prometheus metrics (text format)",
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            401: OpenApiResponse(error_response, description="METRICS_TOKEN is set and not sent"),
        },
    )
    def get(self, request):
        token = settings.METRICS_TOKEN
        sent = request.headers.get("Authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise ApiError(
                status.HTTP_401_UNAUTHORIZED,
                "metrics_token_required",
                "send Authorization: Bearer <METRICS_TOKEN>",
            )
        body = metrics.exposition(_queue_metrics(dashboard.queue_state(timezone.now())))
        return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _queue_metrics(state: dashboard.QueueState) -> list:
    jobs = GaugeMetricFamily(
        "ilios_jobs",
        "Open jobs by type and status (pending, processing).",
        labels=["type", "status"],
    )
    for (job_type, job_status), count in sorted(state.jobs.items()):
        jobs.add_metric([job_type, job_status], count)
    oldest = GaugeMetricFamily(
        "ilios_oldest_ready_job_age_seconds",
        "How long the longest-waiting job that is due has waited for a seat, by type.",
        labels=["type"],
    )
    for job_type, age in sorted(state.oldest_ready.items()):
        oldest.add_metric([job_type], age)
    seats = GaugeMetricFamily(
        "ilios_worker_seats",
        "Conversion seats of the live workers: free or busy.",
        labels=["state"],
    )
    seats.add_metric(["free"], max(state.seats - state.busy_seats, 0))
    seats.add_metric(["busy"], state.busy_seats)
    return [
        jobs,
        oldest,
        GaugeMetricFamily(
            "ilios_workers_live",
            "Worker processes that heartbeat within WORKER_DEAD_AFTER.",
            value=state.live_workers,
        ),
        seats,
    ]
