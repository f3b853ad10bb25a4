"""Originals in the configured storage: the local filesystem by default, S3 when configured.

Every failure of the storage itself (a full or read-only disk, an unreachable bucket) leaves here
as `StorageFull` (507) or `StorageUnavailable` (503), never as the OSError or boto error it
started as, so a client learns what happened and whether to retry, and a worker retries later.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from rest_framework import status

from ilios.errors import ApiError

logger = logging.getLogger(__name__)

ORIGINALS = "originals"
# A presigned PUT is checked when the upload starts, so a slow upload of a large file still
# finishes after its URL expired; the URL itself is only good for starting one.
UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 5 * 60
RETRY_AFTER_SECONDS = 30
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class StorageError(ApiError):
    """The storage itself failed; the request or job did nothing wrong."""


class StorageFull(StorageError):
    def __init__(self, detail: str):
        super().__init__(
            status.HTTP_507_INSUFFICIENT_STORAGE,
            "storage_full",
            f"the server's storage is full: {detail}",
        )


class StorageUnavailable(StorageError):
    def __init__(self, detail: str):
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "storage_unavailable",
            f"the server's storage is unavailable: {detail}",
            retry_after=RETRY_AFTER_SECONDS,
        )


def storage_error(exc: BaseException) -> StorageError | None:
    """What a failure of the disk or the bucket means for a client, or None if it is not one.

    The message names the kind of failure, never a path or a bucket key.
    """
    if isinstance(exc, OSError):
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        return StorageFull(reason) if exc.errno in FULL_ERRNOS else StorageUnavailable(reason)
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "error")
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 507:
            return StorageFull(f"S3 answered {code}")
        return StorageUnavailable(f"S3 answered {code}")
    if isinstance(exc, BotoCoreError | Boto3Error):
        return StorageUnavailable(f"S3 cannot be reached ({type(exc).__name__})")
    return None


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raise a storage failure inside the block as StorageFull or StorageUnavailable."""
    try:
        yield
    except (OSError, BotoCoreError, Boto3Error, ClientError) as exc:
        translated = storage_error(exc)
        logger.warning("storage failure: %s (%s)", translated.detail, exc)
        raise translated from None


def original_key(document_id: str) -> str:
    return f"{ORIGINALS}/{document_id[:2]}/{document_id}"


def store_original(document_id: str, uploaded_file) -> str:
    """Save the upload under its document's key; a local temp file is moved, not copied.

    A copy to another volume that fails half-way (the disk fills up) leaves a partial file
    under the key: it is deleted before the error is raised. An S3 upload is whole or nothing
    (s3transfer aborts a failed multipart upload).
    """
    key = original_key(document_id)
    with translated_errors():
        uploaded_file.seek(0)
        try:
            return default_storage.save(key, uploaded_file)
        except OSError:
            with contextlib.suppress(OSError):
                default_storage.delete(key)
            raise


def open_original(key: str):
    """The stored original, opened: a storage failure is raised here, before a response
    starts streaming it (S3 fetches the object on first access, so it is touched now)."""
    with translated_errors():
        original = default_storage.open(key, "rb")
        original.seek(0)
    return original


def delete_original(key: str) -> None:
    if key:
        with translated_errors():
            default_storage.delete(key)


def presigns() -> bool:
    """Whether clients can be handed URLs to the storage itself (S3 can; a local disk cannot)."""
    return bool(settings.S3_BUCKET)


def presigned_upload(key: str, size: int, content_type: str | None) -> tuple[str, dict]:
    """A URL to PUT the original to, and the headers that PUT must send: its size (and type,
    when the client declared one) are part of the signature, so the bucket refuses others.

    Signing is computed here, with no request to the bucket.
    """
    params = {"Bucket": default_storage.bucket_name, "Key": key, "ContentLength": size}
    headers = {"Content-Length": str(size)}
    if content_type:
        params["ContentType"] = headers["Content-Type"] = content_type
    url = default_storage.bucket.meta.client.generate_presigned_url(
        "put_object", Params=params, ExpiresIn=UPLOAD_URL_SECONDS
    )
    return url, headers


def presigned_download(key: str, file_name: str, content_type: str) -> str:
    """A short-lived URL that downloads the original from the bucket under its file name."""
    disposition = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return default_storage.bucket.meta.client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": default_storage.bucket_name,
            "Key": key,
            "ResponseContentDisposition": disposition,
            "ResponseContentType": content_type,
        },
        ExpiresIn=DOWNLOAD_URL_SECONDS,
    )


def stored_size(key: str) -> int | None:
    """The stored object's size in bytes, or None when nothing is stored under the key."""
    with translated_errors():
        try:
            return default_storage.bucket.meta.client.head_object(
                Bucket=default_storage.bucket_name, Key=key
            )["ContentLength"]
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise


@contextlib.contextmanager
def local_copy(key: str, upload=None) -> Iterator[Path]:
    """A path to the original on local disk, for engines that need one.

    Local storage hands out the stored file itself. With remote storage, `upload` (the file
    the original was just stored from, still on local disk) is used when the caller has it;
    otherwise the original is downloaded to the temp directory, and the copy removed on every
    path out, failure included.
    """
    try:
        local_path = default_storage.path(key)
    except NotImplementedError:
        local_path = None
    if local_path:
        yield Path(local_path)
        return
    if upload is not None:
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(dir=settings.UPLOAD_TEMP_DIR, prefix="original-") as copy:
        with translated_errors(), default_storage.open(key, "rb") as source:
            shutil.copyfileobj(source, copy, length=2**20)
            copy.flush()
        yield Path(copy.name)


@contextlib.contextmanager
def deleted_on_error(key: str) -> Iterator[None]:
    """Delete a just-stored original if what follows fails (the transaction recording it, a
    conversion): no orphaned files."""
    try:
        yield
    except BaseException:
        try:
            delete_original(key)
        except StorageError:
            logger.warning("could not delete %s; the orphan sweep will", key)
        raise


# --- Listing and health ---------------------------------------------------------------------


def stored_originals() -> Iterator[tuple[str, datetime]]:
    """Every stored original's key and last modification, streamed (never all in memory).

    S3 lists a thousand keys per request with their modification times; a local disk is walked.
    """
    with translated_errors():
        if settings.S3_BUCKET:
            for summary in default_storage.bucket.objects.filter(Prefix=f"{ORIGINALS}/"):
                yield summary.key, summary.last_modified
            return
        root = Path(default_storage.location)
        for directory, _, names in os.walk(root / ORIGINALS):
            for name in names:
                path = Path(directory, name)
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    yield path.relative_to(root).as_posix(), modified


def check() -> dict:
    """Whether originals can be stored now: `{backend, status}` (+ `error` when they cannot).

    Local disks are probed by writing a byte to an unnamed file (in the temp directory, where
    every upload lands, and in the storage directory): a full or read-only disk fails that,
    however much space it claims. A bucket is asked whether it exists and answers (a HEAD; no
    write is billed).
    """
    backend = "s3" if settings.S3_BUCKET else "local"
    try:
        with translated_errors():
            _probe_directory(Path(settings.UPLOAD_TEMP_DIR))
            if settings.S3_BUCKET:
                default_storage.bucket.meta.client.head_bucket(Bucket=default_storage.bucket_name)
            else:
                _probe_directory(Path(default_storage.location))
    except StorageError as exc:
        state = "full" if isinstance(exc, StorageFull) else "unavailable"
        return {"backend": backend, "status": state, "error": str(exc.detail)}
    return {"backend": backend, "status": "available"}


def warn_when_unavailable() -> None:
    """Say loudly at start-up when originals cannot be stored: a bucket that does not exist or
    does not answer (a wrong `AWS_ENDPOINT_URL_S3`, a missing `S3_BUCKET`), a full disk.

    The process starts anyway, since storage may come back by itself and /health reports it
    meanwhile; but the operator learns it from the log now rather than from clients' 503s.
    """
    state = check()
    if state["status"] == "available":
        return
    where = (
        f"bucket {settings.S3_BUCKET!r} at {default_storage.endpoint_url}"
        if settings.S3_BUCKET
        else f"directory {default_storage.location}"
    )
    logger.warning(
        "STORAGE %s at start-up: originals cannot be stored in %s (%s). Uploads are refused "
        "and /health answers 503 until it is fixed.",
        state["status"].upper(),
        where,
        state["error"],
    )


def _probe_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory, prefix=".probe-", buffering=0) as probe:
        probe.write(b"\0")
