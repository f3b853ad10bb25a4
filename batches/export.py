"""Batch results as JSONL or ZIP, streamed one document at a time so memory stays flat."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder

from documents.models import Document

CHUNK_SIZE = 50


def _documents(batch) -> Iterator[Document]:
    return batch.documents_in_upload_order().iterator(chunk_size=CHUNK_SIZE)


def entry(document: Document) -> dict:
    line = {"id": document.id, "fileName": document.file_name, "status": document.status}
    if document.status == Document.Status.COMPLETED:
        line["content"] = document.content
        line["metadata"] = document.metadata
    elif document.error:
        line["error"] = document.error
    return line


def jsonl(batch) -> Iterator[bytes]:
    for document in _documents(batch):
        yield (
            json.dumps(entry(document), cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"
        ).encode()


class _Pipe:
    """A write-only file that hands what zipfile writes to the response as it comes."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        yield from chunks


def markdown_name(position: int, document: Document) -> str:
    stem = re.sub(r"[^\w.-]+", "_", document.file_name.rsplit(".", 1)[0])[:80] or "document"
    return f"{position:04d}-{stem}.md"


def zip_archive(batch) -> Iterator[bytes]:
    """One Markdown file per converted document plus manifest.json listing every document."""
    pipe = _Pipe()
    manifest = []
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for position, document in enumerate(_documents(batch), start=1):
            item = {key: value for key, value in entry(document).items() if key != "content"}
            if document.status == Document.Status.COMPLETED:
                item["file"] = markdown_name(position, document)
                archive.writestr(item["file"], document.content)
            manifest.append(item)
            yield from pipe.drain()
        archive.writestr(
            "manifest.json",
            json.dumps(
                {"batchId": batch.id, "documents": manifest},
                cls=DjangoJSONEncoder,
                indent=2,
                ensure_ascii=False,
            ),
        )
    yield from pipe.drain()
