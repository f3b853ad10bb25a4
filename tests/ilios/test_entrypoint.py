"""The image's command (`scripts/entrypoint.sh`) run as Docker runs it, without Docker: a real
process on a free port, SQLite in a data directory of its own, stopped with SIGTERM as `docker
stop` stops it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.conftest import FIXTURES, REPO, free_port, wait_until

pytestmark = pytest.mark.slow

# Generous bounds for 2 busy cores: an idle API and idle workers stop within a second or two.
START_SECONDS = 90
STOP_SECONDS = 20


class Container:
    """`scripts/entrypoint.sh` with the image's settings module, in a session of its own, so
    every process it starts (gunicorn and its workers, runworkers and its children) can be
    found by its session id."""

    def __init__(self, data_dir: Path, port: int, **env):
        self.url = f"http://127.0.0.1:{port}"
        self.log = data_dir / f"entrypoint-{env.get('ILIOS_ROLE', 'all')}.log"
        bin_dir = str(Path(sys.executable).parent)
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(REPO / "scripts" / "entrypoint.sh")],
                env={
                    **os.environ,
                    "PATH": f"{bin_dir}:{os.environ['PATH']}",
                    "DJANGO_SETTINGS_MODULE": "ilios.settings",
                    "DATA_DIR": str(data_dir),
                    "DATABASE_URL": "",
                    "PORT": str(port),
                    "WEB_CONCURRENCY": "1",
                    "WORKER_COUNT": "1",
                    "MAX_CONCURRENT_JOBS": "1",
                    "PYTHONUNBUFFERED": "1",
                    **env,
                },
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def processes(self) -> list[str]:
        """The command lines of every live process the entrypoint started, itself included."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[3]) == self.process.pid and fields[0] != "Z":  # its session, not a zombie
                found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
        return found

    def healthy(self) -> bool:
        assert self.process.poll() is None, f"the entrypoint exited:\n{self.log.read_text()}"
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def request(self, method: str, path: str, fields: dict | None = None) -> dict:
        body = encode_multipart(BOUNDARY, fields) if fields else None
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        if body:
            request.add_header("Content-Type", MULTIPART_CONTENT)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def submit(self) -> str:
        with (FIXTURES / "minimal-document.pdf").open("rb") as pdf:
            return self.request("POST", "/v1/documents", {"file": pdf})["id"]

    def status_of(self, document_id: str) -> str:
        return self.request("GET", f"/v1/documents/{document_id}/status")["status"]

    def terminate(self) -> int:
        """SIGTERM to the entrypoint alone, as `docker stop` sends it to the container's PID 1."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_SECONDS} s after SIGTERM:\n{self.log.read_text()}")

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def container(tmp_path):
    """Start `scripts/entrypoint.sh` with `container(**env)`; whatever is left is killed."""
    started: list[Container] = []

    def start(**env) -> Container:
        handle = Container(tmp_path, free_port(), **env)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.kill_all()


def test_one_container_migrates_serves_converts_and_stops_cleanly_on_sigterm(container):
    ilios = container()
    wait_until(ilios.healthy, timeout=START_SECONDS, interval=0.2)
    document_id = ilios.submit()
    wait_until(lambda: ilios.status_of(document_id) == "completed", timeout=60, interval=0.2)
    running = ilios.processes()
    assert any("gunicorn" in command for command in running), running
    assert any("runworkers" in command for command in running), running

    assert ilios.terminate() == 0, ilios.log.read_text()

    assert ilios.processes() == [], "no process outlives the container's command"
    log = ilios.log.read_text()
    assert "all worker processes stopped" in log
    assert "Shutting down: Master" in log


def test_api_and_workers_run_in_containers_of_their_own(container):
    api = container(ILIOS_ROLE="api")
    wait_until(api.healthy, timeout=START_SECONDS, interval=0.2)
    assert not any("runworkers" in command for command in api.processes())
    document_id = api.submit()
    assert api.status_of(document_id) == "pending", "nothing converts without workers"

    workers = container(ILIOS_ROLE="workers")
    wait_until(lambda: api.status_of(document_id) == "completed", timeout=60, interval=0.2)
    assert not any("gunicorn" in command for command in workers.processes())
    assert "Operations to perform" not in workers.log.read_text(), "the API's host migrates"

    assert workers.terminate() == 0, workers.log.read_text()
    assert api.terminate() == 0, api.log.read_text()
    assert api.processes() == workers.processes() == []


def test_when_one_side_dies_the_other_is_stopped_and_the_exit_code_says_so(container):
    ilios = container()
    wait_until(ilios.healthy, timeout=START_SECONDS, interval=0.2)
    # The API may answer before the workers have started (and can log their stop).
    wait_until(lambda: "started (pid" in ilios.log.read_text(), timeout=START_SECONDS)
    gunicorn = next(
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if _parent_of(stat) == ilios.process.pid and b"gunicorn" in _cmdline(stat.parent)
    )
    os.kill(gunicorn, signal.SIGKILL)

    assert ilios.process.wait(STOP_SECONDS) != 0
    # The killed master's own worker notices it is gone and exits by itself, within a second.
    wait_until(lambda: ilios.processes() == [], timeout=STOP_SECONDS, interval=0.2)
    assert "all worker processes stopped" in ilios.log.read_text()
    assert f"process {gunicorn} exited" in ilios.log.read_text()


def test_an_unknown_role_is_refused_before_anything_starts(container):
    ilios = container(ILIOS_ROLE="everything")
    assert ilios.process.wait(STOP_SECONDS) != 0
    assert "ILIOS_ROLE must be one of all, api, workers, got 'everything'" in ilios.log.read_text()
    assert "Operations to perform" not in ilios.log.read_text()


def _parent_of(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def test_the_image_and_make_run_both_start_it():
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    assert [line for line in dockerfile if line.startswith("CMD")] == [
        'CMD ["scripts/entrypoint.sh"]'
    ]
    run_target = (REPO / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/entrypoint.sh" in run_target
