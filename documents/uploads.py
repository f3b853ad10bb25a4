"""Uploads stream to disk in bounded chunks, are hashed on the way, and are refused mid-stream
once they pass MAX_UPLOAD_SIZE, so no upload is ever held wholly in memory or written in full
before being turned away."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException

SNIFF_BYTES = 1024

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
]

SUPPORTED_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/webp",
    "image/bmp",
    "image/gif",
)


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self):
        super().__init__(
            f"the file is larger than the limit of {settings.MAX_UPLOAD_SIZE} bytes "
            "(MAX_UPLOAD_SIZE)"
        )


def sniff_mime_type(head: bytes) -> str | None:
    """The document type told by the file's first bytes; the name and the client's claim lie."""
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, mime_type in _SIGNATURES:
        if head.startswith(signature):
            return mime_type
    return None


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Writes each file to data/tmp, hashing it and keeping its first bytes for sniffing."""

    def new_file(self, *args, **kwargs):
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
        if len(self.head) < SNIFF_BYTES:
            self.head += raw_data[: SNIFF_BYTES - len(self.head)]
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        uploaded.mime_type = sniff_mime_type(self.head)
        return uploaded
