"""A webhook receiver as a client would run one: a real HTTP server on 127.0.0.1 that verifies
each delivery's signature with the `standardwebhooks` package (not Ilios's own code) and
de-duplicates retries by `webhook-id`.

    receiver = WebhookReceiver(secret)          # bound, not listening: connections are refused
    receiver.up()                               # now it answers
    receiver.answer(500, 429, retry_after=30)   # the next answers, then 200s
    receiver.hold.clear()                       # requests wait until hold is set again
    receiver.events()                           # {webhook-id: payload}, verified ones only
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HOLD_LIMIT_SECONDS = 60


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict | None  # None when the signature did not verify
    error: str = ""


class WebhookReceiver:
    def __init__(self, secret: str):
        self.verifier = Webhook(secret)
        self.received: list[Received] = []
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()  # set by every request as it comes in
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(), False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ilios"
        self.thread: threading.Thread | None = None

    def up(self) -> WebhookReceiver:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.hold.set()
        if self.thread:
            self.server.shutdown()
        self.server.server_close()

    def answer(self, *statuses: int, retry_after: float | None = None) -> None:
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        self.answers.extend((status, headers) for status in statuses)

    def events(self) -> dict[str, dict]:
        """Verified payloads by webhook-id: what a de-duplicating receiver acts on."""
        with self.lock:
            return {
                r.headers["webhook-id"]: r.payload for r in self.received if r.payload is not None
            }

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    received = Received(headers, body, receiver.verifier.verify(body, headers))
                except WebhookVerificationError as exc:
                    received = Received(headers, body, None, str(exc))
                with receiver.lock:
                    receiver.received.append(received)
                receiver.arrived.set()
                receiver.hold.wait(HOLD_LIMIT_SECONDS)
                try:
                    status, extra = receiver.answers.popleft()
                except IndexError:
                    status, extra = 200, {}
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (its timeout) or was killed

            def log_message(self, *args):
                pass

        return Handler
