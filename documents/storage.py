"""Originals in the configured storage: the local filesystem by default, S3 when configured."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage


def original_key(document_id: str) -> str:
    return f"originals/{document_id[:2]}/{document_id}"


def store_original(document_id: str, uploaded_file) -> str:
    """Save the upload under its document's key; a local temp file is moved, not copied."""
    uploaded_file.seek(0)
    return default_storage.save(original_key(document_id), uploaded_file)


def open_original(key: str):
    return default_storage.open(key, "rb")


def delete_original(key: str) -> None:
    if key:
        default_storage.delete(key)


@contextlib.contextmanager
def local_copy(key: str) -> Iterator[Path]:
    """A path to the original on local disk, for engines that need one.

    Local storage hands out the stored file itself; remote storage is downloaded to the temp
    directory and the copy removed on every path out, failure included.
    """
    try:
        local_path = default_storage.path(key)
    except NotImplementedError:
        local_path = None
    if local_path:
        yield Path(local_path)
        return
    with tempfile.NamedTemporaryFile(dir=settings.UPLOAD_TEMP_DIR, prefix="original-") as copy:
        with default_storage.open(key, "rb") as source:
            shutil.copyfileobj(source, copy, length=2**20)
        copy.flush()
        yield Path(copy.name)


@contextlib.contextmanager
def deleted_on_error(key: str) -> Iterator[None]:
    """Delete a just-stored original if the transaction recording it fails: no orphaned files."""
    try:
        yield
    except BaseException:
        delete_original(key)
        raise
