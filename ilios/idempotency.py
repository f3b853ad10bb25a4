"""Idempotency keys: a creating POST sent again (a client retrying after a timeout) gets the
first one's response instead of creating a second document, batch or charge.

`Idempotency-Key` (1-255 visible ASCII characters) on `POST /v1/convert`, `/v1/documents`,
`/v1/batch/submit` and their aliases. Keys are scoped per API key and kept 24 hours. The same
key with another request (other file bytes, file name, options or path) is a 422
`idempotency_key_reused`: a request is recognised by an HMAC of its content (keyed with
SECRET_KEY, so a PDF's password in it cannot be guessed from the database).

Racing duplicates: the first request inserts the key's row before it does anything; the unique
constraint makes every duplicate find that row and wait for the first one's response (up to
WAIT_SECONDS, then 409 `idempotency_key_in_progress` with Retry-After). A request that does not
succeed (any non-2xx answer, or an exception) deletes its row, so the client may retry with the
same key. A row whose request never finished (its process was killed) is taken over after
LEASE. The response is kept just after the request's own transaction commits: a crash in the
instant between the two leaves the key to be taken over after LEASE, and the request then runs
again. Settling a key after the request (keeping its response, or giving the key up) rides out a
brief database outage on fresh connections (`_settled`): the outage that failed the request
would otherwise leave the key claimed, and every retry would wait and get 409 for 15 minutes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ilios.errors import ApiError
from ilios.models import IdempotencyKey
from ilios.openapi import error_response

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
LEASE = timedelta(minutes=15)  # longer than any request runs (gunicorn's timeout is 10 min)
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05
SETTLE_SECONDS = 10.0  # how long settling a key retries while the database is unreachable
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")

PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Send the same key again with the same request (same file bytes and options) "
    "within 24 hours to get the first response back, with the same ids and no second document "
    "or charge, even while the first is still running. Scoped to the API key; 1-255 visible "
    "ASCII characters; a replayed answer carries `Idempotent-Replayed: true`.",
)
RESPONSES = {
    409: OpenApiResponse(
        error_response,
        description="idempotency_key_in_progress: the first request with this key is still "
        "running; retry after Retry-After",
    ),
    422: OpenApiResponse(
        error_response,
        description="idempotency_key_reused: this key came with another request (or the "
        "document cannot be read)",
    ),
}


def idempotent(post):
    """Decorate a view's creating `post` with Idempotency-Key handling."""

    @functools.wraps(post)
    def handle(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return post(view, request, *args, **kwargs)
        if not _VALID_KEY.fullmatch(key):
            raise ApiError(
                400, "invalid_idempotency_key", f"{HEADER} must be 1-255 visible ASCII characters"
            )
        claimed = _claim(request.auth, key, fingerprint(request))
        if isinstance(claimed, dict):
            return _replayed(claimed)
        try:
            response = post(view, request, *args, **kwargs)
        except BaseException:
            _give_up(claimed)
            raise
        if 200 <= response.status_code < 300:
            recorded = _recorded(response)
            _settled(lambda: IdempotencyKey.objects.filter(id=claimed.id).update(response=recorded))
        else:
            _give_up(claimed)
        return response

    return handle


def fingerprint(request) -> str:
    """An HMAC of what makes the request what it is: path, query, fields, files' bytes."""
    data = request.data
    items = data.lists() if hasattr(data, "lists") else data.items()
    fields = sorted((name, [_value(v) for v in _listed(values)]) for name, values in items)
    query = sorted((name, values) for name, values in request.GET.lists() if name != "apiKey")
    canonical = json.dumps([request.path, query, fields], sort_keys=True, default=str)
    secret = hashlib.sha256(b"ilios.idempotency:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def _listed(values) -> list:
    return values if isinstance(values, list) else [values]


def _value(value):
    if hasattr(value, "sha256"):  # an upload (documents.uploads hashed it on the way in)
        return {"file": value.name, "size": value.size, "sha256": value.sha256}
    return value


def _claim(api_key, key: str, fingerprint: str) -> IdempotencyKey | dict:
    """This request's own new row, or the recorded response of the first request."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    api_key=api_key, key=key, fingerprint=fingerprint, created_at=timezone.now()
                )
        except IntegrityError:
            pass  # the key is taken: by an earlier request, or one running now
        found = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
        if found is not None:
            expired = found.created_at < timezone.now() - (
                KEPT if found.response is not None else LEASE
            )
            if expired:
                IdempotencyKey.objects.filter(id=found.id, created_at=found.created_at).delete()
                continue
            if not hmac.compare_digest(found.fingerprint, fingerprint):
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    f"this {HEADER} was used with a different request in the last 24 hours",
                )
            if found.response is not None:
                return found.response
        # Still running (or it gave up just now, and the next insert takes the key).
        if time.monotonic() >= deadline:
            raise ApiError(
                409,
                "idempotency_key_in_progress",
                f"a request with this {HEADER} is still running",
                retry_after=1,
            )
        time.sleep(POLL_SECONDS)


def _give_up(claimed: IdempotencyKey) -> None:
    _settled(lambda: IdempotencyKey.objects.filter(id=claimed.id, response__isnull=True).delete())


def _settled(write) -> None:
    """Run a write that settles a key, retried on a fresh connection for SETTLE_SECONDS while
    the database is unreachable.

    The request itself may have failed because the database dropped its connection (a restart,
    `pg_terminate_backend`): the same connection cannot give the key up. A request that
    succeeded and then could not keep its response would run again once the lease is over, a
    second document. Past SETTLE_SECONDS the error reaches the client as a 503.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_SECONDS * 10)


def _recorded(response) -> dict:
    if isinstance(response, Response):
        data = json.loads(json.dumps(response.data, cls=JSONEncoder))
        return {"status": response.status_code, "data": data}
    return {
        "status": response.status_code,
        "content": response.content.decode(),
        "headers": {
            name: value
            for name, value in response.headers.items()
            if name == "Content-Type" or name.startswith("X-")
        },
    }


def _replayed(recorded: dict) -> HttpResponse:
    if "data" in recorded:
        response: HttpResponse = Response(recorded["data"], status=recorded["status"])
    else:
        response = HttpResponse(recorded["content"], status=recorded["status"])
        for name, value in recorded["headers"].items():
            response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def purge_expired() -> int:
    """Forget keys past their 24 hours (runworkers' maintenance)."""
    return IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEPT).delete()[0]
