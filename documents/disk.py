"""Local storage for originals (the default): a stored original survives a power cut."""

from __future__ import annotations

import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
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

    Each sync waits for the filesystem's journal to commit and the disk to flush: done one after
    the other they cost a commit and a flush each (7 ms against 0.6 ms here, bench/frontdoor.py),
    started together they share them. So the upload's own bytes start syncing as soon as the
    upload is complete (`start_sync`, called by documents.uploads), while the request is still
    checked, and the directories are synced on threads of their own (`_syncer`'s). A temp file
    that could not be renamed into place (another filesystem) was copied: the copy is synced
    here.
    """

    def start_sync(self, path: str) -> Sync:
        return Sync(path)

    def _save(self, name, content):
        target = Path(self.path(name))
        existing = target.parent
        while not existing.exists():
            existing = existing.parent
        early = getattr(content, "synced", None)
        name = super()._save(name, content)
        stored = Path(self.path(name))
        directories = []
        for directory in (stored.parent, *stored.parent.parents):
            directories.append(directory)
            if directory == existing:
                break
        if early is not None and early.inode == _inode(stored):
            synced_all(*directories)
            early.wait()
        else:
            synced_all(stored, *directories)
        return name


class Sync:
    """One file's fsync(2), on one of `_syncer`'s threads, through a descriptor of its own: the
    file may be renamed, or deleted (a refused upload), meanwhile."""

    def __init__(self, path: str):
        descriptor = os.open(path, os.O_RDONLY)
        self.inode = _inode(descriptor)  # the file opened, even if renamed since
        self.done: Future = _syncer(os.getpid()).submit(_fsync_and_close, descriptor)

    def wait(self) -> None:
        self.done.result()


@functools.cache
def _syncer(pid: int) -> ThreadPoolExecutor:
    """This process's threads for fsync(2), started once and reused: starting a thread for each
    sync waited for it to be scheduled, on a busy API process longer than handing it work. Made
    per process (`pid`), as threads do not survive a fork. Up to a sync for each of the web
    server's threads and the directories their uploads created."""
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="fsync")


def _inode(path_or_descriptor) -> tuple[int, int]:
    status = os.stat(path_or_descriptor)
    return status.st_dev, status.st_ino


def synced_all(*paths: Path) -> None:
    """fsync(2) every path at once (the first on this thread); the first failure is raised."""
    others = [_syncer(os.getpid()).submit(_fsync, path) for path in paths[1:]]
    failures: list[BaseException] = []
    try:
        _fsync(paths[0])
    except OSError as exc:
        failures.append(exc)
    for other in others:
        if (failure := other.exception()) is not None:
            failures.append(failure)
    if failures:
        raise failures[0]


def _fsync(path: Path) -> None:
    _fsync_and_close(os.open(path, os.O_RDONLY))


def _fsync_and_close(descriptor: int) -> None:
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
