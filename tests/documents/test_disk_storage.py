"""Originals on local disk: on the disk itself, not only in the page cache, before the document
naming them is recorded."""

import multiprocessing
import os
import stat
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.signals import post_save

from documents import disk
from documents.models import Document
from tests.conftest import FIXTURES


@pytest.fixture
def fresh_storage(settings, tmp_path):
    """Local storage in a directory that does not exist yet: the first original creates it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "documents.disk.DurableFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    return tmp_path / "files"


@pytest.fixture
def events(monkeypatch):
    """In order: the inode of each file and directory fsync(2) finished with, and "recorded" when
    a document is saved. Syncs are slow, as on a busy disk, a file's slowest (it has data to
    write): one not waited for shows up after "recorded"."""
    happened = []
    fsync = os.fsync

    def syncing(descriptor):
        fsync(descriptor)
        status = os.fstat(descriptor)
        time.sleep(0.05 if stat.S_ISDIR(status.st_mode) else 0.3)
        happened.append(status.st_ino)

    def recorded(**kwargs):
        happened.append("recorded")

    monkeypatch.setattr(os, "fsync", syncing)
    post_save.connect(recorded, sender=Document, weak=False)
    yield happened
    post_save.disconnect(recorded, sender=Document)


@pytest.mark.django_db
def test_it_syncs_the_original_and_every_directory_it_created_before_recording_it(
    api, fresh_storage, events
):
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    response = api.post("/v1/documents", {"file": SimpleUploadedFile("a.pdf", pdf)})

    assert response.status_code == 202
    stored = fresh_storage / Document.objects.get(id=response.json()["id"]).original
    assert stored.read_bytes() == pdf
    synced = [stored, stored.parent, stored.parent.parent, fresh_storage, fresh_storage.parent]
    assert sorted(events[:-1]) == sorted(path.stat().st_ino for path in synced)
    assert events[-1] == "recorded"


def test_a_process_forked_after_syncing_syncs_on_threads_of_its_own(tmp_path):
    """The parent's idle sync thread is not in the child: a child handing it work would wait
    forever (gunicorn and the workers fork)."""
    parent, child_file = tmp_path / "parent", tmp_path / "child"
    for file in (parent, child_file):
        file.write_bytes(b"original")
    disk.synced_all(tmp_path, parent)
    child = multiprocessing.get_context("fork").Process(
        target=disk.synced_all, args=(tmp_path, child_file)
    )
    child.start()
    child.join(timeout=10)
    child.kill()
    assert child.exitcode == 0
