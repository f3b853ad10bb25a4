"""A wrong setting stops start-up with a message naming the variable."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def start(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ilios.settings", **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_COUNT", "many"),
        ("MAX_CONCURRENT_JOBS", "0"),
        ("MAX_UPLOAD_SIZE", "huge"),
        ("OCR_ENGINE", "tesseract"),
        ("MARGIN_RATE", "-1"),
        ("PORT", "99999"),
        ("THROTTLE_RATE", "fast"),
        ("API_KEY", "a-long-enough-key, short"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_variable(tmp_path, name, value):
    result = start(DATA_DIR=str(tmp_path), **{name: value})
    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1]


def test_a_short_api_key_is_refused_without_being_echoed(tmp_path):
    result = start(DATA_DIR=str(tmp_path), API_KEY="first-key-long-enough,s3cr3t")
    assert "API_KEY: key #2 has 6 characters" in result.stderr
    assert "s3cr3t" not in result.stderr


def test_mistral_without_a_key_is_refused(tmp_path):
    result = start(DATA_DIR=str(tmp_path), OCR_ENGINE="mistral", MISTRAL_API_KEY="")
    assert "MISTRAL_API_KEY" in result.stderr


def test_no_configuration_at_all_starts(tmp_path):
    assert start(DATA_DIR=str(tmp_path)).returncode == 0
