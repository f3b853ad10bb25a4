"""PDF pages: text layer where it is usable, OCR where it is not (and on pictures of text)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from documents.pdfium import open_pdf

from ..base import (
    ConversionOptions,
    UnreadableDocument,
    select_pages,
)
from . import ocr
from .furniture import remove_furniture
from .geometry import Rule, Word
from .layout import reading_order
from .lines import body_size
from .markdown import HeadingStyle, find_text_tables, render_page
from .tables import find_ruled_tables
from .textlayer import page_frame, read_rules, read_words

OCR_DPI = 300
FIGURE_OCR_DPI = 200
MIN_TEXT_CHARS = 8
FIGURE_MIN_SHARE = 0.04
FIGURE_MIN_SIDE = 60.0


@dataclass
class PageContent:
    index: int
    width: float
    height: float
    words: list[Word] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


def convert_pdf(path: Path, options: ConversionOptions) -> list[tuple[int, str]]:
    document = open_pdf(path, options.password)
    try:
        page_count = len(document)
        if page_count == 0:
            raise UnreadableDocument("the PDF has no pages")
        contents = [
            _read_page(document, index, options.force_ocr)
            for index in select_pages(options.pages, page_count)
        ]
    finally:
        document.close()
    return render_document(contents)


def render_document(contents: list[PageContent]) -> list[tuple[int, str]]:
    cleaned = remove_furniture([c.words for c in contents], [c.height for c in contents])
    all_words = [w for words in cleaned for w in words]
    size = body_size(all_words)
    pages_items = []
    for content, words in zip(contents, cleaned, strict=True):
        analysis = find_ruled_tables(words, content.rules)
        items = reading_order(words, analysis.tables, content.rules, analysis.column_guides, size)
        pages_items.append(find_text_tables(items))
    style = HeadingStyle.from_lines(
        [line for items in pages_items for line in items if hasattr(line, "cells")], size
    )
    return [
        (content.index, render_page(items, style))
        for content, items in zip(contents, pages_items, strict=True)
    ]


def _read_page(document: pdfium.PdfDocument, index: int, force_ocr: bool) -> PageContent:
    try:
        page = document[index]
    except pdfium.PdfiumError as error:
        raise UnreadableDocument(f"page {index + 1} cannot be loaded: {error}") from error
    try:
        frame = page_frame(page)
        width, height = frame.visual_size
        content = PageContent(index, width, height)
        if not force_ocr:
            textpage = page.get_textpage()
            try:
                words, _rotated = read_words(page, textpage, frame)
            finally:
                textpage.close()
            if _usable(words):
                content.words = words + _figure_words(page, frame, words)
                content.rules = read_rules(page, frame)
                return content
        content.words = _ocr_region(page, None, OCR_DPI)
        return content
    finally:
        page.close()


def _usable(words: list[Word]) -> bool:
    """A text layer worth trusting: enough characters, mostly not private-use or replacement."""
    text = "".join(w.text for w in words)
    if len(text) < MIN_TEXT_CHARS:
        return False
    junk = sum(1 for ch in text if ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff")
    return junk < 0.3 * len(text)


def _figure_words(page, frame, words: list[Word]) -> list[Word]:
    """OCR the large pictures that no text-layer word overlaps: scanned figures, charts of text."""
    width, height = frame.visual_size
    found: list[Word] = []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    raw_page = page.raw
    for number in range(pdfium_c.FPDFPage_CountObjects(raw_page)):
        obj = pdfium_c.FPDFPage_GetObject(raw_page, number)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        x0, y0, x1, y1 = frame.box(left.value, bottom.value, right.value, top.value)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if min(x1 - x0, y1 - y0) < FIGURE_MIN_SIDE:
            continue
        if (x1 - x0) * (y1 - y0) < FIGURE_MIN_SHARE * width * height:
            continue
        if any(x0 <= (w.x0 + w.x1) / 2 <= x1 and y0 <= w.middle <= y1 for w in words):
            continue
        found.extend(_ocr_region(page, (x0, y0, x1, y1), FIGURE_OCR_DPI))
    return found


def _ocr_region(page, region, dpi: int) -> list[Word]:
    """Render the page (or one region of it) and OCR it; words come back in points.

    Whole scanned pages need 300 dpi to keep word spaces in body text; figures carry larger type
    and are read at a lower resolution, which roughly halves their cost.
    """
    scale = dpi / 72
    width, height = page.get_size()
    crop = (0, 0, 0, 0)
    if region is not None:
        x0, y0, x1, y1 = region
        crop = (x0, height - y1, width - x1, y0)
    bitmap = page.render(scale=scale, crop=crop, grayscale=False)
    image = np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
    lines, (image_height, image_width) = ocr.recognize(image)
    words = ocr.words_from_lines(lines, scale)
    if region is not None:
        for word in words:
            word.x0 += region[0]
            word.x1 += region[0]
            word.top += region[1]
            word.bottom += region[1]
    return words
