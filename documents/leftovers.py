"""Files that outlived their purpose, and their removal.

A process killed mid-request or mid-job leaves temp files behind (an upload being received, a
worker's local copy of an S3 original), and a crash between storing an original and committing
its document leaves an original that no document references; so does a delete that failed
while the storage was down. A direct upload never completed leaves an `uploading` document (and
perhaps its object). `cleanup_orphans` and the workers' maintenance remove them all. Safe at
any time and on any number of hosts at once: removing what another sweep already removed is
harmless.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from documents import storage
from documents.models import Document

logger = logging.getLogger(__name__)

# Decrypted copies of password-protected PDFs were written under this prefix next to their
# original by earlier versions (now they never have a name); any still on disk goes at once.
DECRYPTED_COPY_PREFIX = ".decrypted-"
# Stored originals unreferenced for this long go. It must exceed the longest time between
# storing an original and committing its document: a batch stores all its files first.
ORPHAN_GRACE = timedelta(days=1)
LOOKUP_CHUNK = 500


def temp_file_max_age() -> timedelta:
    """An hour, or JOB_TIMEOUT if longer: nothing in use stays untouched that long.

    A streaming upload refreshes its file's modification time with every chunk; a worker's
    local copy is in use for at most JOB_TIMEOUT; a synchronous conversion for at most the
    web server's timeout (600 s).
    """
    return max(timedelta(hours=1), timedelta(seconds=settings.JOB_TIMEOUT))


def remove_stale_temp_files() -> int:
    """Remove temp files no process can still be using; returns how many."""
    cutoff = timezone.now() - temp_file_max_age()
    removed = 0
    for path in Path(settings.UPLOAD_TEMP_DIR).iterdir():
        with contextlib.suppress(FileNotFoundError):
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if path.is_file() and (_is_decrypted_copy(path.name) or modified < cutoff):
                path.unlink()
                removed += 1
    if removed:
        logger.info("removed %d stale temp file(s)", removed)
    return removed


def remove_abandoned_uploads() -> int:
    """Delete documents still `uploading` ORPHAN_GRACE after their upload URL was handed out;
    returns how many.

    Their upload was never completed (the client gave up, or crashed, or so did the API before
    answering it). The delete is conditional on the status, so a completion that commits first
    keeps its document. Their objects, no longer referenced, go with the unreferenced originals
    (run this first).
    """
    cutoff = timezone.now() - ORPHAN_GRACE
    abandoned = Document.objects.filter(status=Document.Status.UPLOADING, created_at__lt=cutoff)
    removed = abandoned.delete()[1].get(Document._meta.label, 0)
    if removed:
        logger.info("deleted %d upload(s) never completed", removed)
    return removed


def remove_unreferenced_originals() -> int:
    """Delete stored originals that no document references; returns how many.

    An original's file name is its document's id, so references are looked up by primary key,
    a chunk of keys at a time. Only originals older than ORPHAN_GRACE go, so one whose document
    is about to be committed is never taken.
    """
    cutoff = timezone.now() - ORPHAN_GRACE
    removed = 0
    originals = storage.stored_originals()
    while chunk := list(itertools.islice(originals, LOOKUP_CHUNK)):
        names = {key: key.rsplit("/", 1)[-1] for key, _ in chunk}
        referenced = set(
            Document.objects.filter(id__in=set(names.values()))
            .exclude(original="")
            .values_list("original", flat=True)
        )
        for key, modified in chunk:
            if key in referenced:
                continue
            if _is_decrypted_copy(names[key]) or modified < cutoff:
                storage.delete_original(key)
                removed += 1
    if removed:
        logger.info("deleted %d original(s) no document references", removed)
    return removed


def _is_decrypted_copy(file_name: str) -> bool:
    return file_name.startswith(DECRYPTED_COPY_PREFIX)
