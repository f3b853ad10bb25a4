"""One error shape everywhere: {"error": {"code": ..., "message": ..., "details"?: ...}}.

Clients branch on `code`, people read `message`; no stack trace or internal detail ever reaches
a client, and nothing a client sends can produce a 5xx.
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5


class ApiError(exceptions.APIException):
    """An error with an explicit status, code and message, raised from views and services."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        **extra,
    ):
        self.status_code = status_code
        self.default_code = code
        self.extra = extra
        self.wait = retry_after  # DRF turns `wait` into a Retry-After header
        super().__init__(message, code)


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(413, "request_too_large", str(exc))
    elif isinstance(exc, SuspiciousOperation | BadRequest):
        exc = ApiError(400, "bad_request", str(exc))
    elif isinstance(exc, OperationalError | InterfaceError):
        exc = database_unavailable(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error", exc_info=exc)
        return Response(
            error_body("internal_error", "the server could not complete this request"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.data = _body_for(exc, response.data)
    return response


def database_unavailable(exc: Exception) -> ApiError:
    """The database could not be reached or dropped the connection mid-request: a 503 the
    client may retry, never a 500. A connection dropped between requests (a database restart,
    `pg_terminate_backend`) never gets here: CONN_HEALTH_CHECKS replaces it first."""
    logger.warning("database unavailable: %s", exc)
    return ApiError(
        503,
        "database_unavailable",
        "the database is unavailable; retry shortly",
        retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )


def _body_for(exc, data) -> dict:
    extra = getattr(exc, "extra", {})
    if isinstance(exc, exceptions.ValidationError):
        return error_body("invalid_request", _first_message(data), details=data)
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    message = data.get("detail", str(exc)) if isinstance(data, dict) else str(exc)
    return error_body(str(code), str(message), **extra)


def _first_message(data) -> str:
    if isinstance(data, dict):
        for field, value in data.items():
            return f"{field}: {_first_message(value)}"
    if isinstance(data, list) and data:
        return _first_message(data[0])
    return str(data)


def _django_error(code: str, message: str, status_code: int):
    def view(request, exception=None):
        return JsonResponse(error_body(code, message), status=status_code)

    return view


not_found = _django_error("not_found", "not found", 404)
server_error = _django_error("internal_error", "the server could not complete this request", 500)
bad_request = _django_error("bad_request", "bad request", 400)
permission_denied = _django_error("permission_denied", "permission denied", 403)
