"""Shared OpenAPI pieces, so every operation documents the one error shape the same way."""

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
}
