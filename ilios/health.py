"""`/` and `/health`: public, cheap, and honest about what is down.

`/health` answers 503 when the database cannot be reached or originals cannot be stored (a full
or read-only disk, an unreachable bucket), so a load balancer stops sending uploads there. Its
`services.database` and `services.s3` say what the original service's said, beside the details.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import engines, storage
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
