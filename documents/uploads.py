"""Uploads stream to disk in bounded chunks, are hashed on the way, and are refused mid-stream
once they pass MAX_UPLOAD_SIZE, so no upload is ever held wholly in memory or written in full
before being turned away. A temp disk that fills up or fails mid-upload refuses it the same
way (507/503), and the partial file goes at once. On local storage a complete upload starts
syncing to disk at once, while the request is checked (documents.disk)."""

from __future__ import annotations

import contextlib
import hashlib

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException

from documents import formats, storage


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self):
        super().__init__(
            f"the file is larger than the limit of {settings.MAX_UPLOAD_SIZE} bytes "
            "(MAX_UPLOAD_SIZE)"
        )


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Writes each file to data/tmp, hashing it and keeping its first bytes for sniffing."""

    def new_file(self, *args, **kwargs):
        with self._disk_failures_refused():
            super().new_file(*args, **kwargs)
        self.received = 0
        self.digest = hashlib.sha256()
        self.head = b""

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            self.file.close()
            raise UploadTooLarge()
        self.digest.update(raw_data)
        if len(self.head) < formats.SNIFF_BYTES:
            self.head += raw_data[: formats.SNIFF_BYTES - len(self.head)]
        with self._disk_failures_refused():
            return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        with self._disk_failures_refused():
            uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        uploaded.mime_type = formats.sniff(self.head)
        start_sync = getattr(default_storage, "start_sync", None)  # local storage syncs
        if start_sync:
            with self._disk_failures_refused():
                uploaded.synced = start_sync(uploaded.temporary_file_path())
        return uploaded

    @contextlib.contextmanager
    def _disk_failures_refused(self):
        """Close (and so delete) the partial temp file, and answer 507 or 503."""
        try:
            yield
        except OSError as exc:
            if hasattr(self, "file"):
                with contextlib.suppress(OSError):  # closing flushes, which fails again
                    self.file.close()
            raise storage.storage_error(exc) from None
