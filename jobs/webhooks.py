"""Webhooks: a document's or a batch's end announced to the client, signed, and retried.

Deliveries follow the Standard Webhooks specification (https://www.standardwebhooks.com/): a
POST of JSON with `webhook-id` (the delivery's id, the same on every retry, so a receiver
de-duplicates), `webhook-timestamp` (this attempt's, in Unix seconds) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 over "id.timestamp.body", keyed with the API key's own secret or
WEBHOOK_SECRET), so any Standard Webhooks library verifies them.

A delivery is written in the transaction that records the outcome it announces (`announce_*`,
called from `jobs.outcomes`) and sent by a job of its own (`send`, run by `runworkers` on seats
of their own, recorded by `queue.record_delivery`): a crash can neither lose nor invent one.
Timeouts, connection errors, 429 and 5xx are retried with the queue's doubling backoff for
about a day (longer when the receiver sends Retry-After); any other answer is final.

Targets are checked twice: when a request names them (a refused URL is a 400) and before every
attempt, after DNS resolution, and the connection goes to the address that was checked, so a
name that later resolves elsewhere (DNS rebinding) reaches nothing private. Only https, and no
loopback, link-local or private address, unless WEBHOOK_ALLOW_PRIVATE_NETWORKS; redirects are
never followed.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from batches import status as batch_status
from batches.models import Batch
from documents.models import Document, status_body
from ilios.models import ApiKey
from jobs import db
from jobs.models import Delivery, Job

logger = logging.getLogger(__name__)

# Attempts in all: the queue's backoff doubles from 5 s, so the last of 15 attempts comes
# 5 s × (2^14 − 1) ≈ 22.8 hours after the first — about a day.
DELIVERY_ATTEMPTS = 15
# A receiver's Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER_SECONDS = 6 * 3600
# How much of a refusal's body is kept as its error, for the operator.
ERROR_SNIPPET_BYTES = 200
USER_AGENT = "Ilios-Webhooks/1 (Standard Webhooks)"


class RefusedTarget(ValueError):
    """A webhook URL Ilios will not call; a 400 when a request names it."""

    code = "webhook_url_refused"


class UnresolvedTarget(RefusedTarget):
    """The host name does not resolve: refused in a request, retried by a delivery."""


class MissingSecret(ValueError):
    code = "webhook_secret_missing"

    def __init__(self):
        super().__init__(
            "webhooks are signed, and there is no secret to sign them with: the operator sets "
            "WEBHOOK_SECRET or creates a webhook secret for this API key in the admin"
        )


# --- Targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]  # what the host resolved to, each checked


def check_target(url: str) -> Target:
    """The URL as Ilios will call it, or RefusedTarget saying why not."""
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"webhookUrl is not a valid URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedTarget(
            "webhookUrl must be an https URL"
            + ("" if allow_private else " (plain http needs WEBHOOK_ALLOW_PRIVATE_NETWORKS)")
        )
    if not parts.hostname:
        raise RefusedTarget("webhookUrl has no host")
    if parts.username or parts.password:
        raise RefusedTarget("webhookUrl must not carry a user name or password")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvedTarget(f"the host {parts.hostname!r} cannot be resolved") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise RefusedTarget(
                    f"the host {parts.hostname!r} resolves to {address}, a loopback, "
                    "link-local or private address"
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def target_for(requested: str, api_key: ApiKey | None) -> str:
    """Where a new document's or batch's end is announced: the request's `webhookUrl`, checked
    now, or else the API key's default; empty for none."""
    if not requested:
        return api_key.webhook_url if api_key else ""
    check_target(requested)
    if signing_secret(api_key) is None:
        raise MissingSecret()
    return requested


# --- Signing -----------------------------------------------------------------------------------


def signing_secret(api_key: ApiKey | None) -> str | None:
    """The key's own secret, else WEBHOOK_SECRET, else None (nothing can be signed)."""
    own = api_key.webhook_secret() if api_key else None
    return own or settings.WEBHOOK_SECRET or None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- Announcing (inside the transaction that records the outcome) --------------------------


def announce_documents(event: Delivery.Event, documents: list[Document], now) -> None:
    """Queue a delivery for each of these documents that has a webhook target.

    Their rows are read back, so the body shows what the caller's transaction has just written
    (no query at all when none of them has a target).
    """
    ids = [document.id for document in documents if document.webhook_url]
    if not ids:
        return
    _enqueue(
        [
            (
                Delivery(
                    event=event,
                    url=document.webhook_url,
                    body=_json({"event": event, **_document_body(document)}),
                    document=document,
                    api_key_id=document.api_key_id,
                    created_at=now,
                ),
                document.priority,
            )
            for document in Document.objects.filter(id__in=ids).defer("content")
        ],
        now,
    )


def _document_body(document: Document) -> dict:
    body = status_body(
        document.id, document.status, document.file_name, document.error, document.metadata
    )
    if document.batch_id:
        body["batchId"] = document.batch_id
    if document.status == Document.Status.COMPLETED:
        body["downloadUrl"] = f"/v1/documents/{document.id}"
    return body


def announce_batch(batch_id: str, now) -> None:
    """Queue `batch.completed` for a batch that has just finished, if it has a target."""
    batch = Batch.objects.filter(id=batch_id).exclude(webhook_url="").first()
    if batch is None:
        return
    event = Delivery.Event.BATCH_COMPLETED
    body = _json({"event": event, **batch_status.status_body(batch)})
    _enqueue(
        [
            (
                Delivery(
                    event=event,
                    url=batch.webhook_url,
                    body=body,
                    batch=batch,
                    api_key_id=batch.api_key_id,
                    created_at=now,
                ),
                batch.priority,
            )
        ],
        now,
    )


def _json(body: dict) -> dict:
    """The body exactly as the API would render it (dates as ISO 8601 strings)."""
    return json.loads(json.dumps(body, cls=JSONEncoder))


def _enqueue(deliveries: list[tuple[Delivery, int]], now) -> None:
    jobs = Job.objects.bulk_create(
        [
            Job(
                type=Job.Type.WEBHOOK,
                priority=priority,
                max_attempts=DELIVERY_ATTEMPTS,
                scheduled_at=now,
                created_at=now,
            )
            for _, priority in deliveries
        ]
    )
    for (delivery, _), job in zip(deliveries, jobs, strict=True):
        delivery.job = job
    Delivery.objects.bulk_create([delivery for delivery, _ in deliveries])
    db.notify_on_commit()


# --- Sending (in a worker, outside any transaction) ----------------------------------------


class Result(enum.StrEnum):
    """What one attempt came to; what metrics count attempts by."""

    DELIVERED = "delivered"
    RETRYABLE = "retryable"  # timeout, connection error, 408, 429, 5xx
    PERMANENT = "permanent"  # any other answer, or a target refused


@dataclass(frozen=True)
class Attempt:
    result: Result
    error: str = ""
    status_code: int | None = None
    retry_after: float | None = None


def send(job: Job) -> Attempt:
    """Make one attempt at the job's delivery: sign it now, POST it, judge the answer."""
    delivery = Delivery.objects.select_related("api_key").filter(job_id=job.id).first()
    if delivery is None:  # its document or batch was deleted since
        return Attempt(Result.PERMANENT, "nothing to deliver: the delivery was deleted")
    try:
        secret = signing_secret(delivery.api_key)
    except ValueError as exc:  # a sealed secret that SECRET_KEY no longer opens
        return Attempt(Result.PERMANENT, str(exc))
    if secret is None:
        return Attempt(Result.PERMANENT, str(MissingSecret()))
    try:
        target = check_target(delivery.url)
    except UnresolvedTarget as exc:
        return Attempt(Result.RETRYABLE, str(exc))
    except RefusedTarget as exc:
        return Attempt(Result.PERMANENT, str(exc))
    body = json.dumps(delivery.body, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery.id, timestamp, body),
    }
    try:
        status, retry_after, text = _post(target, body, headers)
    except TimeoutError:
        return Attempt(Result.RETRYABLE, f"no answer within {settings.WEBHOOK_TIMEOUT:g} s")
    except OSError as exc:  # refused, reset, unreachable, TLS
        return Attempt(Result.RETRYABLE, f"connection failed: {exc}")
    except http.client.HTTPException as exc:
        return Attempt(Result.RETRYABLE, f"not a valid HTTP answer ({type(exc).__name__})")
    return _judged(status, retry_after, text)


def _judged(status: int, retry_after: str | None, text: str) -> Attempt:
    if 200 <= status < 300:
        return Attempt(Result.DELIVERED, status_code=status)
    error = f"HTTP {status}" + (f": {text.strip()}" if text.strip() else "")
    if status in (408, 429) or status >= 500:
        return Attempt(Result.RETRYABLE, error, status, _seconds(retry_after))
    if 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed"
    return Attempt(Result.PERMANENT, error, status)


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After as seconds from now (it may be a number or an HTTP date), capped."""
    if not retry_after:
        return None
    try:
        seconds = float(retry_after)
    except ValueError:
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - timezone.now()).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to what the name resolves to by then."""

    def __init__(self, target: Target, address: str):
        super().__init__(target.host, target.port, timeout=settings.WEBHOOK_TIMEOUT)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As `_PinnedHTTPConnection`; the certificate is still checked against the host name."""

    def __init__(self, target: Target, address: str):
        self.tls = ssl.create_default_context()
        super().__init__(
            target.host, target.port, timeout=settings.WEBHOOK_TIMEOUT, context=self.tls
        )
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post(target: Target, body: bytes, headers: dict) -> tuple[int, str | None, str]:
    """POST to the first address that accepts a connection; never follows a redirect."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    failure: OSError | None = None
    for address in target.addresses:
        connection = kind(target, address)
        try:
            connection.connect()
        except OSError as exc:
            failure = exc
            continue
        try:
            connection.request("POST", target.path, body, headers)
            response = connection.getresponse()
            text = response.read(ERROR_SNIPPET_BYTES).decode(errors="replace")
            return response.status, response.getheader("Retry-After"), text
        finally:
            connection.close()
    assert failure is not None
    raise failure
