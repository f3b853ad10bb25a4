import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

API_KEY = "cli-test-key-0123456789"


class Cli:
    """The `ilios` CLI run as a user runs it, in its own process with no Django settings, from
    `cwd`; `run` waits for it, `start` does not."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("ILIOS_URL", "ILIOS_API_KEY", "DJANGO_SETTINGS_MODULE")
        }
        self.env["PYTHONPATH"] = str(REPO)  # this working tree's CLI, not an installed copy

    def command(self, args) -> list[str]:
        return [sys.executable, "-m", "ilios_cli", *map(str, args)]

    def environment(self, server, key) -> dict:
        return {
            **self.env,
            **({"ILIOS_URL": server.url} if server else {}),
            **({"ILIOS_API_KEY": key} if key else {}),
        }

    def run(self, *args, server=None, key=API_KEY, timeout=180) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(args),
            cwd=self.cwd,
            env=self.environment(server, key),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args, server=None, key=API_KEY) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(args),
            cwd=self.cwd,
            env=self.environment(server, key),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def folder(tmp_path):
    """`folder({"sub/a.pdf": "minimal-document.pdf", "notes.txt": b"..."})`: a tree of inputs
    under tmp_path/in, each a copy of a fixture or the bytes given."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "in"
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                content if isinstance(content, bytes) else (FIXTURES / content).read_bytes()
            )
        return root

    return make
