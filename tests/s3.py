"""S3 for the tests: moto in server mode, reached over HTTP on a free port, as a real bucket is."""

from __future__ import annotations

import boto3
from boto3.s3.transfer import TransferConfig
from moto.server import ThreadedMotoServer

BUCKET = "ilios-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
MULTIPART_THRESHOLD = 5 * 2**20  # S3's smallest part size


def start_moto() -> tuple[ThreadedMotoServer, str]:
    """A moto server with the test bucket; returns it (to stop) and its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    return server, endpoint


def bucket_at(endpoint: str):
    return boto3.resource(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Bucket(BUCKET)


def use_bucket(settings, monkeypatch, endpoint: str) -> dict:
    """Point the default storage at the bucket, as S3_BUCKET and friends would; returns the
    same configuration as environment variables, for worker processes."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.S3_BUCKET = BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "documents.s3.DiskBackedS3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "file_overwrite": True,
                "transfer_config": TransferConfig(
                    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
                ),
            },
        },
    }
    return {
        "S3_BUCKET": BUCKET,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_REGION": "us-east-1",
        "S3_MULTIPART_THRESHOLD": str(MULTIPART_THRESHOLD),
        **CREDENTIALS,
    }
