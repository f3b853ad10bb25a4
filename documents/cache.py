"""Re-runs that cost nothing: a document whose bytes, engine (and the settings it converts
under) and output-changing options match an earlier completed conversion under the same API key
takes that conversion's Markdown instead of converting again.

A document records the key it was converted under (`Document.cache_key`); a submission looks up
the newest completed document with the same key and API key. Only `completed` documents match:
a failed, cancelled or archived one (its content dropped) never does, nor one still converting,
so a duplicate that arrives while the first is in the queue is converted too rather than made
to wait on a conversion that may yet fail. Which document the result came from is kept in the
copy's metadata (`cachedFrom`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping

from django.db import connection

from documents.engines.base import ConversionOptions
from documents.models import Document


def key_for(
    sha256: str, engine: str, options: ConversionOptions, configuration: Mapping[str, str]
) -> str:
    """What makes two conversions give the same Markdown: the bytes, the engine and the
    settings it converts under (`engines.configuration`: its model, the languages it reads), the
    pages (parsed, so `1-3` and `1,2,3` match) and forceOcr. The password is not part of it: the
    submission checked it opens these very bytes."""
    parts = [
        sha256,
        engine,
        sorted(configuration.items()),
        list(options.pages or ()),
        options.force_ocr,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def wanted(options: ConversionOptions, requested: bool) -> bool:
    """Whether to look for an earlier result: not when the client asked for a fresh conversion,
    by `cache=false` or by `forceOcr` (whose point is to read the pages again)."""
    return requested and not options.force_ocr


def find(api_key, cache_keys: Collection[str]) -> dict[str, Document]:
    """The newest completed document of this API key (None: keyless) for each of the keys.

    One query for each key, each the last entry of an index (`documents_cache_newest_idx`), and
    only the chosen documents' content is read: every re-run is itself a completed document
    under the same key, so a file resubmitted daily has thousands. Written as SQL: every submit
    runs it, and the ORM took longer to build it than the database took to answer.
    """
    found = {}
    for cache_key in set(cache_keys):
        params = [cache_key, Document.Status.COMPLETED]
        if api_key is not None:
            params.append(api_key.pk)
        newest = list(Document.objects.raw(newest_sql(keyless=api_key is None), params))
        if newest:
            found[cache_key] = newest[0]
    return found


def newest_sql(keyless: bool) -> str:
    """The newest completed document of one cache key and owner: parameters the cache key,
    `completed` and, unless keyless, the API key's id."""
    table = connection.ops.quote_name(Document._meta.db_table)
    owner = "api_key_id IS NULL" if keyless else "api_key_id = %s"
    return (
        f"SELECT * FROM {table} WHERE id = (SELECT id FROM {table}"
        f" WHERE cache_key = %s AND status = %s AND {owner} ORDER BY id DESC LIMIT 1)"
    )


def metadata_for(document: Document, source: Document) -> dict:
    """The source's metadata, as this document's: its own file name, no time spent."""
    return {
        **source.metadata,
        "fileName": document.file_name,
        "processingTimeMs": 0,
        "cachedFrom": source.id,
    }
