"""Shared OpenAPI pieces, so every operation documents the one error shape the same way."""

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

error_response = inline_serializer(
    "Error",
    fields={
        "error": inline_serializer(
            "ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(required=False),
            },
        )
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(error_response, description="invalid request"),
    401: OpenApiResponse(error_response, description="missing or invalid API key"),
    404: OpenApiResponse(error_response, description="no such object for this key"),
    429: OpenApiResponse(error_response, description="throttled; see Retry-After"),
    503: OpenApiResponse(
        error_response,
        description="a dependency is down (database_unavailable, storage_unavailable, "
        "engine_unavailable); retry after Retry-After",
    ),
}
# Endpoints that store uploads.
STORAGE_FULL = OpenApiResponse(error_response, description="storage full; nothing was kept")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ilios.auth.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyHeader", "apiKeyQuery"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer"},
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "apiKey", "in": "query", "name": "apiKey"},
        ]

    def get_security_requirement(self, auto_schema):
        """Any one of the three places will do (a list of requirements is an OR)."""
        return [{name: []} for name in self.name]


def mark_legacy_aliases(result, generator, request, public):
    """The original service's /api/ paths stay for old clients: deprecated, with their own ids.

    One view serves both paths, so drf-spectacular numbers the colliding ids; name them instead.
    """
    for path, operations in result["paths"].items():
        for operation in operations.values():
            operation_id = re.sub(r"_\d+$", "", operation["operationId"])
            if path.startswith("/api/"):
                operation_id += "_legacy"
                operation["deprecated"] = True
            operation["operationId"] = operation_id
    return result
