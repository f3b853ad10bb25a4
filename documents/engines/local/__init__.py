"""The offline engine: PDF text layers read with PDFium, everything else through RapidOCR."""

from __future__ import annotations

import time
from pathlib import Path

from documents import formats

from ..base import ConversionOptions, ConversionResult, Engine, Page, UnreadableDocument
from . import ocr
from .images import image_pages
from .pdf import convert_pdf, render_document

MODEL = f"ilios-local-1+{ocr.ENGINE_NAME}"


class LocalEngine(Engine):
    name = "local"

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        started = time.perf_counter()
        path = Path(path)
        if mime_type == formats.PDF:
            rendered = convert_pdf(path, options)
        elif formats.is_image(mime_type):
            rendered = render_document(image_pages(path, options))
        else:
            raise UnreadableDocument(f"the local engine cannot read {mime_type} files")
        pages = [Page(index=index, markdown=markdown) for index, markdown in rendered]
        elapsed = int((time.perf_counter() - started) * 1000)
        return ConversionResult(pages=pages, model=MODEL, processing_ms=elapsed)


__all__ = ["LocalEngine"]
