"""S3 as the original service's users configured it: its endpoint by default, and a bucket that
cannot be reached said out loud at start-up, without stopping it."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import free_port, wait_until, with_real_settings
from tests.s3 import BUCKET, CREDENTIALS, start_moto

SHOW_STORAGE = (
    "import json; from django.conf import settings; "
    "print(json.dumps(settings.STORAGES['default'], default=str))"
)


def python(code: str, data_dir, **env) -> subprocess.CompletedProcess:
    """`code` in a fresh process with the image's settings and these variables."""
    code = f"import django; django.setup(); {code}"
    return with_real_settings("-c", code, DATA_DIR=data_dir, DATABASE_URL="", **env)


def storage_with(data_dir, **env) -> dict:
    shown = python(SHOW_STORAGE, data_dir, **env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_a_bucket_without_an_endpoint_is_on_tigris_as_in_the_original(tmp_path):
    options = storage_with(tmp_path, S3_BUCKET="convert-docs", **CREDENTIALS)["OPTIONS"]
    assert options["endpoint_url"] == "https://fly.storage.tigris.dev"
    assert options["region_name"] == "auto"
    assert options["bucket_name"] == "convert-docs"


def test_an_endpoint_set_is_used_as_it_is(tmp_path):
    options = storage_with(
        tmp_path,
        S3_BUCKET="b",
        AWS_ENDPOINT_URL_S3="https://s3.eu-west-1.amazonaws.com",
        AWS_REGION="eu-west-1",
    )["OPTIONS"]
    assert options["endpoint_url"] == "https://s3.eu-west-1.amazonaws.com"
    assert options["region_name"] == "eu-west-1"


def test_without_a_bucket_originals_are_local_files(tmp_path):
    assert storage_with(tmp_path)["BACKEND"].endswith("FileSystemStorage")


@pytest.fixture
def moto_endpoint():
    server, endpoint = start_moto()
    yield endpoint
    server.stop()


SECRET = "moto-takes-any-secret-never-log-it"
# Never created: moto's buckets are shared by every server in a test process, so deleting the
# test bucket would fail while other tests' objects are in it, and pull it from under them.
MISSING_BUCKET = "ilios-never-created"


def bucket_settings(endpoint: str, bucket: str = BUCKET) -> dict:
    return {
        "S3_BUCKET": bucket,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }


@pytest.mark.parametrize("fault", ["missing bucket", "unreachable endpoint"])
def test_the_api_starts_with_a_loud_warning_when_the_bucket_cannot_be_reached(
    tmp_path, moto_endpoint, fault
):
    if fault == "missing bucket":
        endpoint, bucket = moto_endpoint, MISSING_BUCKET
    else:
        endpoint, bucket = f"http://127.0.0.1:{free_port()}", BUCKET  # nothing listens there
    started = python("import ilios.wsgi", tmp_path, **bucket_settings(endpoint, bucket))

    assert started.returncode == 0, started.stderr
    warning = next(line for line in started.stderr.splitlines() if "STORAGE" in line)
    assert "WARNING" in warning
    assert (
        f"STORAGE UNAVAILABLE at start-up: originals cannot be stored in bucket '{bucket}' "
        f"at {endpoint}"
    ) in warning
    assert "/health answers 503" in warning
    assert SECRET not in started.stderr


def test_a_reachable_bucket_starts_quietly(tmp_path, moto_endpoint):
    started = python("import ilios.wsgi", tmp_path, **bucket_settings(moto_endpoint))
    assert started.returncode == 0, started.stderr
    assert "STORAGE" not in started.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_workers_start_with_the_same_warning(tmp_path, moto_endpoint, workers):
    log = tmp_path / "workers.log"
    running = workers(log=log, **bucket_settings(moto_endpoint, MISSING_BUCKET))
    wait_until(lambda: "STORAGE UNAVAILABLE at start-up" in log.read_text(), timeout=60)
    assert running.process.poll() is None, "a warning, not a crash"
