"""gunicorn started exactly as `make run` starts it serves the API, and logs no secret."""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import REPO, database_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


SECRET = "never-log-this-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_the_api_and_logs_no_key(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **database_env(),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    log = tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:

        def health():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                return False

        assert wait_until(health, timeout=60, interval=0.2)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/documents?apiKey={SECRET}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    logged = log.read_text()
    assert "GET /v1/documents" in logged
    assert SECRET not in logged
