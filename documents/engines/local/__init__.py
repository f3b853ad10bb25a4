"""The offline engine: PDF text layers read with PDFium, everything else through RapidOCR."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings

from documents import formats

from .. import tesseract
from ..base import ConversionOptions, ConversionResult, Engine, Page, UnreadableDocument
from . import ocr
from .images import image_pages
from .pdf import convert_pdf, render_document
from .second import SecondReader

MODEL = f"ilios-local-1+{ocr.ENGINE_NAME}"


class LocalEngine(Engine):
    """`languages` (as OCR_LANGUAGES: `eng+heb+ell`) are the languages Tesseract may read when
    the bundled recognizer cannot; by default the OCR_LANGUAGES setting, or its environment
    variable where Django is not set up (benchmarks, scripts)."""

    name = "local"

    def __init__(self, languages: str | None = None):
        self.second = SecondReader.for_languages(
            tesseract.parse(languages or _configured_languages())
        )
        self.model = MODEL + ("+tesseract" if self.second else "")

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        started = time.perf_counter()
        path = Path(path)
        if mime_type == formats.PDF:
            rendered = convert_pdf(path, options, self.second)
        elif formats.is_image(mime_type):
            rendered = render_document(image_pages(path, options, self.second))
        else:
            raise UnreadableDocument(f"the local engine cannot read {mime_type} files")
        pages = [Page(index=index, markdown=markdown) for index, markdown in rendered]
        elapsed = int((time.perf_counter() - started) * 1000)
        return ConversionResult(pages=pages, model=self.model, processing_ms=elapsed)


def _configured_languages() -> str:
    if settings.configured:
        return settings.OCR_LANGUAGES
    return os.environ.get("OCR_LANGUAGES") or tesseract.DEFAULT_LANGUAGES


__all__ = ["LocalEngine"]
