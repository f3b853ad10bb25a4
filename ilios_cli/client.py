"""The Ilios HTTP API as the CLI uses it: authentication, waiting out a busy server, and every
failure turned into an error that says what to do, with the exit code the CLI ends with.

A busy server (429 or 503) is waited out as its `Retry-After` says. Lost connections are ridden
out only where asked (`patient=True`: the many requests of a long `convert`), and only where
resending cannot make a second document: any GET, and a POST whose connection was never made.
One-shot commands fail at once, so a wrong `--server` is said in a second, not after retries.
"""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx

DEFAULT_SERVER = "http://localhost:1337"
BUSY_STATUSES = frozenset({429, 503})
BUSY_ATTEMPTS = 10
TRANSPORT_ATTEMPTS = 6  # 1+2+4+8+16 s of backoff: long enough for a server to restart
MAX_BACKOFF = 30.0
FIRST_POLL, POLL_GROWTH, MAX_POLL = 0.2, 1.5, 2.0
UNFINISHED = frozenset({"pending", "processing"})


class CliError(Exception):
    """A failure the CLI reports in one line and ends on, with its exit code."""

    exit_code = 1


class ApiError(CliError):
    """The server answered, and refused: its status and its own message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class BadKey(CliError):
    exit_code = 2


class Unreachable(CliError):
    exit_code = 3


class Interrupted(Exception):
    """Raised in a worker thread once the run is stopping (Ctrl-C): it leaves what it waits for."""


def server_message(response: httpx.Response) -> str:
    """The message of the server's `{"error": {"code", "message"}}` body, or its raw text."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text.strip()[:300] or response.reason_phrase
    return f"{message} (HTTP {response.status_code})"


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait before asking again: `Retry-After` (seconds or a date), else backoff."""
    header = response.headers.get("Retry-After", "").strip()
    if header.isdigit():
        return float(header)
    if header:
        try:
            moment = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            pass
        else:
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return backoff(attempt)


def backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), MAX_BACKOFF)


class Client:
    def __init__(self, server: str, api_key: str | None):
        self.server = server.rstrip("/")
        self.keyed = bool(api_key)
        headers = {"User-Agent": "ilios-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.Client(
            base_url=self.server,
            headers=headers,
            timeout=httpx.Timeout(120.0, connect=10.0),
        )
        self.stopping = threading.Event()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.http.close()

    def pause(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Interrupted

    def request(
        self,
        method: str,
        path: str,
        *,
        patient: bool = False,
        body: Callable[[], dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request (`body()` builds its arguments anew for each attempt: an upload's file
        is reopened) and answer a 2xx response, or raise the CliError that says why not."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.request(method, path, **(body() if body else {}), **kwargs)
            except httpx.TransportError as error:
                resendable = method == "GET" or isinstance(error, httpx.ConnectError)
                if patient and resendable and attempt < TRANSPORT_ATTEMPTS:
                    self.pause(backoff(attempt))
                    continue
                raise self.unreachable(error) from None
            if response.status_code in BUSY_STATUSES and attempt < BUSY_ATTEMPTS:
                self.pause(retry_delay(response, attempt))
                continue
            if response.status_code in (401, 403):
                raise self.bad_key(response)
            if response.is_error:
                raise ApiError(response.status_code, server_message(response))
            return response

    def unreachable(self, error: httpx.TransportError) -> Unreachable:
        reason = str(error) or type(error).__name__
        return Unreachable(
            f"cannot reach the Ilios server at {self.server} ({reason}). Is it running? "
            "Point the CLI at it with --server or ILIOS_URL."
        )

    def bad_key(self, response: httpx.Response) -> BadKey:
        if self.keyed:
            return BadKey(
                f"the server at {self.server} refused the API key: {server_message(response)}. "
                "Check --api-key or ILIOS_API_KEY."
            )
        return BadKey(
            f"the server at {self.server} needs an API key: pass --api-key or set ILIOS_API_KEY."
        )

    def check_access(self) -> None:
        """Fail fast, before any work, on a wrong server or key."""
        self.request("GET", "/v1/documents", params={"limit": 1})

    def submit(self, path: Path, engine: str | None, idempotency_key: str) -> dict:
        """Queue a file; the key lets a server that honours it answer a resent upload with the
        document the first one made."""

        with path.open("rb") as file:

            def upload() -> dict[str, Any]:
                file.seek(0)
                return {"files": {"file": (path.name, file, "application/octet-stream")}}

            response = self.request(
                "POST",
                "/v1/documents",
                patient=True,
                body=upload,
                data={"engine": engine} if engine else {},
                headers={"Idempotency-Key": idempotency_key},
            )
        return response.json()

    def status(self, document_id: str, *, patient: bool = False) -> dict:
        return self.request("GET", f"/v1/documents/{document_id}/status", patient=patient).json()

    def wait_until_finished(self, document_id: str, *, patient: bool = False) -> dict:
        """Poll the status, more slowly as the wait grows, until the document is no longer
        pending or processing; its last status body."""
        delay = FIRST_POLL
        while (body := self.status(document_id, patient=patient))["status"] in UNFINISHED:
            self.pause(delay)
            delay = min(delay * POLL_GROWTH, MAX_POLL)
        return body

    def markdown(self, document_id: str, *, patient: bool = False) -> bytes:
        return self.request("GET", f"/v1/documents/{document_id}", patient=patient).content

    def usage(self, start: str | None, end: str | None) -> dict:
        period = {"startDate": start, "endDate": end}
        params = {name: value for name, value in period.items() if value}
        return self.request("GET", "/v1/usage/summary", params=params).json()
