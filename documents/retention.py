"""Retention: after `retention_days` a document's original and content are deleted for good."""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from documents import storage
from documents.models import Document

logger = logging.getLogger(__name__)

# Only documents no worker will touch again may lose their files.
ARCHIVABLE = Q(
    status__in=[Document.Status.COMPLETED, Document.Status.FAILED, Document.Status.CANCELLED]
)


def archive_expired() -> int:
    expired = Document.objects.filter(ARCHIVABLE, expires_at__lte=timezone.now())
    return sum(archive(document) for document in expired.only("id", "original").iterator())


def archive(document: Document) -> bool:
    """Drop the content and delete the original; False if the document was not archivable."""
    archived = Document.objects.filter(ARCHIVABLE, id=document.id).update(
        status=Document.Status.ARCHIVED, content="", original="", archived_at=timezone.now()
    )
    if archived:
        try:
            storage.delete_original(document.original)
        except Exception:
            logger.exception(
                "document %s archived, but its original could not be deleted", document.id
            )
    return bool(archived)
