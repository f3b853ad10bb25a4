"""Local storage for originals (the default): a stored original survives a power cut."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.files.storage import FileSystemStorage


class DurableFileSystemStorage(FileSystemStorage):
    """Django's file storage, with each saved file and the directory entries leading to it
    synced to disk before `save` returns.

    Django moves the upload's temp file into place (or copies it across volumes) and returns
    while the bytes and the new name may still be only in the page cache: a power cut after the
    document's row commits would leave a queued job whose original is empty or missing. The
    directories created for the file are synced too, from the innermost up to the one that
    already existed (whose new entry is the created directory), as rename(2) promises nothing
    until its directory is synced.
    """

    def _save(self, name, content):
        target = Path(self.path(name))
        existing = target.parent
        while not existing.exists():
            existing = existing.parent
        name = super()._save(name, content)
        stored = Path(self.path(name))
        _fsync(stored)
        for directory in (stored.parent, *stored.parent.parents):
            _fsync(directory)
            if directory == existing:
                break
        return name


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
