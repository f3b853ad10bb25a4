"""A wrong setting stops start-up with a message naming the variable."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, with_real_settings


def start(**env) -> subprocess.CompletedProcess:
    return with_real_settings("manage.py", "check", **env)


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
        ("WEBHOOK_SECRET", "not-whsec"),
        ("WEBHOOK_SECRET", "whsec_dG9vIHNob3J0"),  # 9 bytes
        ("WEBHOOK_SECRET", "whsec_not base64!"),
        ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "maybe"),
        ("WEBHOOK_TIMEOUT", "0"),
        ("WEBHOOK_CONCURRENCY", "0"),
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


def test_a_setting_left_empty_takes_its_default(tmp_path):
    """`DATA_DIR=` in a .env means the default ./data, not the current folder."""
    show = "from django.conf import settings; print(settings.DATA_DIR, settings.MISTRAL_OCR_MODEL)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {show}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "ilios.settings",
            "DATA_DIR": "",
            "MISTRAL_OCR_MODEL": " ",
        },
        timeout=60,
    )
    assert result.stdout.split() == [str(tmp_path / "data"), "mistral-ocr-latest"]
