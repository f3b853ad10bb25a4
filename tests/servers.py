"""The API as `make run` serves it: gunicorn in a child process, on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from tests.conftest import REPO, database_env, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(log: Path, **env) -> Iterator[str]:
    """Serve the test database and data directory; yields the base URL once /health answers."""
    port = free_port()
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=REPO,
        env={
            **os.environ,
            **database_env(),
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "DATA_DIR": str(settings.DATA_DIR),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            **env,
        },
        start_new_session=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            assert server.poll() is None, "gunicorn exited"
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
