"""S3 storage for originals (used when S3_BUCKET is set)."""

from botocore.config import Config
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# An unreachable bucket is reported within seconds: botocore's default (legacy) retries keep a
# request, or a health check, waiting up to 15 s before the client hears 503. One retry is
# left for a blip; the client (Retry-After) or the queue retries the rest.
FAIL_FAST = Config(connect_timeout=5, retries={"mode": "standard", "max_attempts": 2})
# Presigned URLs are signed with SigV4, which binds the Content-Length and Content-Type of a
# direct upload into its signature; botocore presigns with legacy SigV2 otherwise, which binds
# neither, so a client could PUT any size to its URL.
SIGV4 = Config(signature_version="s3v4")


class DiskBackedS3Storage(S3Storage):
    """Sends an upload that is already on disk by its path, in one PUT when it is small, gives up
    on an unreachable bucket quickly, and presigns with SigV4.

    django-storages hands boto3 a file object, and s3transfer then holds the parts of a multipart
    upload in memory (about 60 MiB for a 256 MiB file); given a path it reads each part as it
    sends it (about 12 MiB). Uploads always arrive on disk (FILE_UPLOAD_MAX_MEMORY_SIZE = 0).
    Below the multipart threshold s3transfer would send one PUT anyway, but only after building
    a resource object, starting a thread pool and waiting on a future: on a busy API process that
    cost more than the PUT itself (bench/frontdoor.py), so the client sends it on this thread.
    Either way the object is whole in the bucket when `_save` returns, or it raises.
    """

    def __init__(self, **settings):
        super().__init__(**settings)
        self.client_config = self.client_config.merge(FAIL_FAST).merge(SIGV4)

    def _save(self, name, content):
        if not hasattr(content, "temporary_file_path"):
            return super()._save(name, content)
        cleaned_name = clean_name(name)
        key = self._normalize_name(cleaned_name)
        client = self.connection.meta.client
        parameters = self._get_write_parameters(key, content)
        if content.size < self.transfer_config.multipart_threshold:
            with open(content.temporary_file_path(), "rb") as body:
                client.put_object(Bucket=self.bucket_name, Key=key, Body=body, **parameters)
        else:
            client.upload_file(
                content.temporary_file_path(),
                self.bucket_name,
                key,
                ExtraArgs=parameters,
                Config=self.transfer_config,
            )
        return cleaned_name
