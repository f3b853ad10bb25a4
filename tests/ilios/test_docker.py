"""Nothing secret is made while an image is built, and nothing secret is copied into it."""

import fnmatch
import stat
import subprocess

import pytest

from tests.conftest import REPO, with_real_settings


def manage(*args: str, data_dir) -> subprocess.CompletedProcess:
    return with_real_settings("manage.py", *args, timeout=120, DATA_DIR=data_dir, SECRET_KEY="")


def test_the_image_build_step_creates_no_secret_key(tmp_path):
    built = manage("collectstatic", "--noinput", "--dry-run", data_dir=tmp_path)  # as in Dockerfile
    assert built.returncode == 0, built.stderr
    assert not (tmp_path / "secret_key").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_secret_key_is_made_on_first_use_private_and_then_kept(tmp_path):
    show = "from django.conf import settings; print('key:', settings.SECRET_KEY)"
    first = manage("shell", "-c", show, data_dir=tmp_path)
    second = manage("shell", "-c", show, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.split("key: ", 1)[1].strip()
    assert len(key) >= 50
    assert second.stdout.split("key: ", 1)[1].strip() == key, "API and workers share one key"
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == key


def excluded_from_the_image(path: str) -> bool:
    """Docker's rule for .dockerignore: a path is left out when it, or a folder above it,
    matches a pattern; the last pattern that matches decides, and `!` brings a path back."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        glob = pattern.removeprefix("!")
        if any(fnmatch.fnmatchcase(prefix, glob) for prefix in prefixes):
            excluded = not pattern.startswith("!")
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        "data/secret_key",
        "data/ilios.db",
        "data/files/originals/01/01j0000000000000000000000",
        ".venv/bin/python",
        "bench/.venvs/django-q2/bin/python",
        ".git/config",
    ],
)
def test_copy_ships_no_secret_data_or_environment(path):
    assert excluded_from_the_image(path)


@pytest.mark.parametrize("path", ["manage.py", "ilios/settings.py", ".env.example", "Dockerfile"])
def test_copy_ships_the_code(path):
    assert not excluded_from_the_image(path)
