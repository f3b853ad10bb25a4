"""PDF pages: text layer where it is usable, OCR where it is not (and on pictures of text).

PDFium is not thread-safe, so every PDFium call runs under `documents.pdfium.lock`. The lock is
taken per page and released while a rendered bitmap (an owned copy) goes through OCR, which can
take seconds: other threads' PDFium calls (a page count on upload) need not wait for it. A
picture is rendered only when OCR is ready for it (`ocr.one_picture_at_a_time`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from documents import limits
from documents.pdfium import lock, open_pdf

from ..base import ConversionOptions, UnreadableDocument
from . import ocr
from .furniture import remove_furniture
from .geometry import Rule, Word
from .layout import reading_order
from .lines import body_size
from .markdown import (
    HeadingStyle,
    find_text_tables,
    fixed_pitch_marks_code,
    lines_in_paragraphs,
    render_page,
)
from .outline import OutlineEntry, match_outline, read_outline
from .second import SecondReader
from .tables import find_ruled_tables
from .textlayer import (
    UPRIGHT,
    PageFrame,
    drawn_bullets,
    page_frame,
    page_objects,
    read_rules,
    read_words,
)

OCR_DPI = 300
FIGURE_OCR_DPI = 200
MIN_TEXT_CHARS = 8
JUNK_RE = re.compile("[\ufffd\ue000-\uf8ff]")  # replacement and private-use characters
FIGURE_MIN_SHARE = 0.04
FIGURE_MIN_SIDE = 60.0
# What reading pictures inside born-digital pages may cost (see ocr.PictureBudget): about half a
# line of text per page of the document (some 30 ms on one core, where reading a page's text
# layer takes about 12), and at least eight lines, pooled over the document and spent in page
# order. A document with a few pictures of text has them read in full; one made of them converts
# in about three times the time of its text layer, reading the titles and first lines of its
# first pictures. A picture that fills most of its page is a scan, read in full.
PICTURE_COLUMNS_PER_PAGE = 600
PICTURE_COLUMNS_PER_DOCUMENT = 10000
SCAN_SHARE = 0.7


@dataclass
class PageContent:
    index: int
    width: float
    height: float
    words: list[Word] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    outline: list[OutlineEntry] = field(default_factory=list)
    frame: PageFrame | None = None


@dataclass
class OcrJob:
    """A picture (a page, or a figure on it: `region`, a box as a viewer sees the page) waiting
    for OCR, and where its words go on the page: `frame` turns them into its reading frame.

    It is rendered when it is read, one at a time in the process (`ocr.one_picture_at_a_time`):
    conversions running at once (a worker's seats, the API's threads) each held their page's
    bitmap, up to MAX_RENDER_PIXELS × 3 bytes, while OCR read them in turn.
    """

    index: int
    frame: PageFrame
    region: tuple[float, float, float, float] | None = None
    dpi: int = OCR_DPI
    shared_area: float | None = None
    budgeted: bool = True

    def run(
        self, document: pdfium.PdfDocument, second: SecondReader | None, budget: ocr.PictureBudget
    ) -> list[Word]:
        """The picture's words: a whole page read with the `second` reader's help, a figure on
        a born-digital page by the bundled model within the document's `budget` (unless it
        fills the page: a scan that carries a few words of text layer, a stamp or a number)."""
        with ocr.one_picture_at_a_time:
            with lock:
                image, scale = self._render(document)
            if self.region is not None:
                lines = ocr.read_picture(image, budget if self.budgeted else None)
            else:
                lines, _shape = ocr.recognize(image, second=second)
        left, top = self.region[:2] if self.region is not None else (0.0, 0.0)
        words = ocr.words_from_lines(lines, scale)
        for word in words:
            word.x0, word.top, word.x1, word.bottom = self.frame.turn(
                word.x0 + left, word.top + top, word.x1 + left, word.bottom + top
            )
        return words

    def _render(self, document: pdfium.PdfDocument) -> tuple[np.ndarray, float]:
        """The picture's pixels and their scale (pixels per point).

        Whole scanned pages need 300 dpi to keep word spaces in body text. Figures are rendered
        once at 200 dpi (150 dpi loses a third of the word spaces of 10-point type): text is
        found on a small copy, lines are cut from this one. A huge page, or a page's figures
        together, are rendered at a lower resolution to fit the render budget
        (`limits.render_scale`).
        """
        page = _load(document, self.index)
        try:
            width, height = page.get_size()
            x0, y0, x1, y1 = self.region or (0, 0, width, height)
            scale = limits.render_scale(self.shared_area or (x1 - x0) * (y1 - y0), self.dpi)
            crop = (0, 0, 0, 0) if self.region is None else (x0, height - y1, width - x1, y0)
            bitmap = page.render(scale=scale, crop=crop, grayscale=False)
            return _owned_bgr(bitmap), scale
        finally:
            page.close()


def convert_pdf(
    path: Path, options: ConversionOptions, second: SecondReader | None = None
) -> list[tuple[int, str]]:
    with lock:
        document = open_pdf(path, options.password)
    try:
        with lock:
            page_count = len(document)
            if page_count == 0:
                raise UnreadableDocument("the PDF has no pages")
            outline = read_outline(document)
            indices = limits.check_pdf_pages(document, options.pages)
        contents = []
        budget = ocr.PictureBudget(
            max(PICTURE_COLUMNS_PER_PAGE * len(indices), PICTURE_COLUMNS_PER_DOCUMENT)
        )
        for index in indices:
            with lock:
                content, jobs = _read_page(document, index, options.force_ocr, budget)
                content.outline = [e.placed(content.frame) for e in outline.get(index, [])]
            for job in jobs:
                content.words.extend(job.run(document, second, budget))
            contents.append(content)
    finally:
        with lock:
            document.close()
    return render_document(contents)


def render_document(contents: list[PageContent]) -> list[tuple[int, str]]:
    cleaned = remove_furniture([c.words for c in contents], [c.height for c in contents])
    all_words = [w for words in cleaned for w in words]
    size = body_size(all_words)
    code = fixed_pitch_marks_code(all_words)
    pages_items = []
    for content, words in zip(contents, cleaned, strict=True):
        analysis = find_ruled_tables(words, content.rules)
        items = reading_order(words, analysis.tables, content.rules, analysis.column_guides, size)
        pages_items.append(find_text_tables(items, content.rules))
    outlined = match_outline(
        [content.outline for content in contents],
        [[item for item in items if hasattr(item, "cell_count")] for items in pages_items],
    )
    prose = set().union(*(lines_in_paragraphs(items) for items in pages_items))
    style = HeadingStyle.from_lines(
        [line for items in pages_items for line in items if hasattr(line, "cell_count")],
        size,
        outlined,
        prose,
    )
    return [
        (content.index, render_page(items, style, code))
        for content, items in zip(contents, pages_items, strict=True)
    ]


def _read_page(
    document: pdfium.PdfDocument, index: int, force_ocr: bool, budget: ocr.PictureBudget
) -> tuple[PageContent, list[OcrJob]]:
    """The page's text layer and the pictures on it that may hold text (none once the
    document's picture budget is spent), or the whole page for OCR (rendered when it is read)."""
    page = _load(document, index)
    try:
        frame = page_frame(page)
        if not force_ocr:
            textpage = page.get_textpage()
            try:
                layer = read_words(page, textpage, frame)
            finally:
                textpage.close()
            if _usable(layer.words):
                frame = layer.frame
                objects = page_objects(page)
                words = layer.words + drawn_bullets(objects.paths, frame, layer.words)
                content = PageContent(index, *frame.size, words, frame=frame)
                content.rules = read_rules(objects.paths, frame)
                if budget.columns <= 0:
                    return content, []
                return content, _figure_jobs(index, frame, layer.words, objects.images)
        return PageContent(index, *frame.size, frame=frame), [OcrJob(index, frame)]
    finally:
        page.close()


def _load(document: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    try:
        return document[index]
    except pdfium.PdfiumError as error:
        raise UnreadableDocument(f"page {index + 1} cannot be loaded: {error}") from error


def _usable(words: list[Word]) -> bool:
    """A text layer worth trusting: enough characters, mostly not private-use or replacement."""
    text = "".join(w.text for w in words)
    if len(text) < MIN_TEXT_CHARS:
        return False
    junk = len(JUNK_RE.findall(text))
    return junk < 0.3 * len(text)


def _figure_jobs(
    index: int, frame: PageFrame, words: list[Word], images: list[tuple]
) -> list[OcrJob]:
    """The large pictures (of the page's `images`, see `page_objects`) that no text-layer word
    overlaps: scanned figures, charts of text.

    They share the page's render budget: forty pictures stacked on one page are not forty pages.
    """
    width, height = frame.viewer_size
    found: list[tuple[float, float, float, float]] = []
    viewer = frame.oriented(UPRIGHT)
    for _, bounds in images:
        x0, y0, x1, y1 = viewer.box(*bounds)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if min(x1 - x0, y1 - y0) < FIGURE_MIN_SIDE:
            continue
        if (x1 - x0) * (y1 - y0) < FIGURE_MIN_SHARE * width * height:
            continue
        left, top, right, bottom = frame.turn(x0, y0, x1, y1)
        if any(left <= (w.x0 + w.x1) / 2 <= right and top <= w.middle <= bottom for w in words):
            continue
        found.append((x0, y0, x1, y1))
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in found)
    return [
        OcrJob(
            index,
            frame,
            box,
            FIGURE_OCR_DPI,
            area,
            budgeted=(box[2] - box[0]) * (box[3] - box[1]) < SCAN_SHARE * width * height,
        )
        for box in found
    ]


def _owned_bgr(bitmap) -> np.ndarray:
    """A copy of the bitmap's pixels that outlives it (OCR runs after PDFium let go of it)."""
    try:
        return np.array(bitmap.to_numpy()[:, :, :3], order="C", copy=True)
    finally:
        bitmap.close()
