"""Originals on local disk: on the disk itself, not only in the page cache, before the document
naming them is recorded."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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
def syncs(monkeypatch):
    """Each fsync(2) made: the path synced, and whether any document was recorded by then."""
    made = []
    fsync = os.fsync

    def recording(descriptor):
        made.append((os.readlink(f"/proc/self/fd/{descriptor}"), Document.objects.exists()))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    return made


@pytest.mark.django_db
def test_it_syncs_the_original_and_every_directory_it_created_before_recording_it(
    api, fresh_storage, syncs
):
    pdf = (FIXTURES / "minimal-document.pdf").read_bytes()
    response = api.post("/v1/documents", {"file": SimpleUploadedFile("a.pdf", pdf)})

    assert response.status_code == 202
    stored = fresh_storage / Document.objects.get(id=response.json()["id"]).original
    assert stored.read_bytes() == pdf
    synced = [stored, stored.parent, stored.parent.parent, fresh_storage, fresh_storage.parent]
    assert syncs == [(str(path), False) for path in synced]
