from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"  # real documents the tests convert (see its README.md)


def pytest_sessionfinish(session, exitstatus):
    """This run's data directory (tests/settings.py) holds nothing worth keeping."""
    import shutil

    if settings.configured and "run-" in settings.DATA_DIR.name:
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def fixture_upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


def padded_pdf(size: int) -> bytes:
    """A real corpus PDF grown past `size` with a trailing comment, which readers ignore."""
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    return pdf + b"\n%" + b"x" * (size - len(pdf)) + b"\n"


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll a condition that another process makes true (real processes cannot be time-warped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def database_env() -> dict:
    """Environment that points a child process at the test database the test is using."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        return {"DATABASE_URL": url}
    return {"LOCAL_DB_PATH": str(db["NAME"]), "DATABASE_URL": ""}


class WorkerProcesses:
    """A real `manage.py runworkers` in a child process; its log goes to `log` when given."""

    def __init__(self, processes: int = 1, concurrency: int = 2, log: Path | None = None, **env):
        self.env = {
            **os.environ,
            **database_env(),
            "DATA_DIR": str(settings.DATA_DIR),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in env.items()},
        }
        self.args = [
            sys.executable,
            str(REPO / "manage.py"),
            "runworkers",
            f"--processes={processes}",
            f"--concurrency={concurrency}",
        ]
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcesses:
        output = self.log.open("w") if self.log else None
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        return self

    def stop(self, timeout: float = 30) -> int:
        return stop_process(self.process, timeout)


def stop_process(process: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM (a clean stop), then SIGKILL for the process's whole group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


@pytest.fixture
def workers():
    """Start real worker processes with `workers(processes=, concurrency=, log=, **env)`."""
    started: list[WorkerProcesses] = []

    def start(**kwargs) -> WorkerProcesses:
        handle = WorkerProcesses(**kwargs).start()
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


# --- A live API: gunicorn as `make run` starts it ----------------------------------------------


def with_real_settings(*args: str, timeout: float = 60, **env) -> subprocess.CompletedProcess:
    """`python ARGS` in a fresh process on the real settings (ilios.settings), not the tests',
    with these variables on top of this process's: how start-up itself is tested."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ilios.settings",
            **{name: str(value) for name, value in env.items()},
        },
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ApiServer:
    """gunicorn with gunicorn.conf.py, as `make run` starts it, on a free port, the test's
    database and data directory, and the settings given as environment variables; its output
    (the access log) goes to `log`."""

    def __init__(self, log: Path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            **database_env(),
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            "DATA_DIR": str(settings.DATA_DIR),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            **{key: str(value) for key, value in env.items()},
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> ApiServer:
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py"],
                cwd=REPO,
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.healthy, timeout=60, interval=0.2)
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except urllib.error.HTTPError:
            return False
        except OSError:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text()}"
            return False

    def stop(self, timeout: float = 30) -> int:
        return stop_process(self.process, timeout)


@pytest.fixture
def api_server(tmp_path):
    """Start a live API with `api_server(**settings)`; stopped at the end of the test."""
    started: list[ApiServer] = []

    def start(**env) -> ApiServer:
        server = ApiServer(tmp_path / f"gunicorn-{len(started)}.log", **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh_key_checks(monkeypatch):
    """Each test brings its own keys: re-read API_KEY and the ApiKey table on first use, not a
    process-wide answer cached by an earlier test (whose rows a flush removed unseen)."""
    from ilios import auth

    monkeypatch.setattr(auth, "_environment_keys_synced", False)


@pytest.fixture(autouse=True)
def _clean_temp_dir():
    """Every test starts with, and must leave, an empty upload temp directory."""
    yield
    leftovers = list(Path(settings.UPLOAD_TEMP_DIR).iterdir())
    for path in leftovers:
        path.unlink()
    assert not leftovers, f"temp files left behind: {leftovers}"


@pytest.fixture
def make_document():
    """Store an original and queue it, as a submission would, for the `scripted` engine."""
    from django.core.files.base import ContentFile

    from documents import storage
    from documents.models import Document
    from jobs import queue

    def make(script: bytes = b"ok", *, priority: int = 5, batch=None, api_key=None, webhook_url=""):
        document = Document(
            file_name="script.pdf",
            mime_type="application/pdf",
            file_size=len(script),
            sha256="0" * 64,
            engine="scripted",
            priority=priority,
            batch=batch,
            api_key=api_key,
            webhook_url=webhook_url,
        )
        document.original = storage.store_original(document.id, ContentFile(script))
        document.save(force_insert=True)
        queue.enqueue(document)
        return document

    return make


class Clock:
    def __init__(self, now):
        self.now = now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    """Time under the test's control: `clock.advance(seconds)` instead of sleeping."""
    from django.utils import timezone

    controlled = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: controlled.now)
    return controlled


# --- Webhooks: a signing secret, and a receiver on 127.0.0.1 that verifies with it -------------

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 random bytes, base64


@pytest.fixture
def webhook_settings(settings):
    """WEBHOOK_SECRET set, and 127.0.0.1 over http allowed (the receiver is local)."""
    settings.WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def receiver(webhook_settings):
    """A listening webhook receiver verifying with WEBHOOK_SECRET (fakes/webhook_receiver.py)."""
    from fakes.webhook_receiver import WebhookReceiver

    started = WebhookReceiver(WEBHOOK_SECRET).up()
    yield started
    started.close()
