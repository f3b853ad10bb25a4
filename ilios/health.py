"""`/` and `/health`: public, cheap, and honest about what is down."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import engines
from jobs.models import Job, Worker

ENDPOINTS = {
    "GET /health": "service health",
    "GET /docs": "Swagger UI",
    "GET /redoc": "ReDoc",
    "GET /openapi.json": "OpenAPI 3 schema",
    "POST /v1/convert": "convert a file now and answer its Markdown",
    "POST /v1/documents": "submit a file for asynchronous conversion",
    "GET /v1/documents": "list your documents",
    "GET /v1/documents/{id}/status": "a document's status",
    "GET /v1/documents/{id}": "a document's Markdown (?format=json for JSON)",
    "GET /v1/documents/{id}/original": "the uploaded file",
    "DELETE /v1/documents/{id}": "cancel or erase a document",
    "POST /v1/batch/submit": "submit many files as a batch",
    "GET /v1/batch/status/{batchId}": "a batch's progress",
    "GET /v1/batch/download/{batchId}": "a batch's results as JSONL or ZIP",
    "DELETE /v1/batch/{batchId}": "cancel a batch's pending documents",
    "GET /v1/usage/summary": "usage totals for a period",
    "GET /v1/usage/breakdown": "usage by day, operation and engine",
    "GET /admin/": "operator console",
    "GET /playground": "try a conversion in the browser",
}


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
                "endpoints": ENDPOINTS,
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
        services = {
            "database": _database(),
            "storage": "s3" if settings.S3_BUCKET else "local",
            "engine": engines.resolve(None),
        }
        if services["database"] == "connected":
            services["workers"] = _workers()
        healthy = services["database"] == "connected"
        return Response(
            {
                "status": "healthy" if healthy else "unhealthy",
                "timestamp": timezone.now(),
                "services": services,
            },
            status=200 if healthy else 503,
        )


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "connected"
    except DatabaseError:
        return "unreachable"


def _workers() -> dict:
    alive_since = timezone.now() - timedelta(seconds=settings.WORKER_DEAD_AFTER)
    return {
        "active": Worker.objects.filter(
            status=Worker.Status.ACTIVE, last_heartbeat__gte=alive_since
        ).count(),
        "pendingJobs": Job.objects.filter(status=Job.Status.PENDING).count(),
    }
