"""Image files: every frame of a TIFF is a page; other formats are read as one picture.

Frames are read one at a time, each after seeking to it: Pillow's image object is the file's
current frame, so frames collected first and read afterwards would all be the last one (a
three-page TIFF came out as its last page three times).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from documents import limits

from ..base import ConversionOptions, UnreadableDocument, select_pages
from . import ocr
from .pdf import PageContent
from .second import SecondReader


def image_pages(
    path: Path, options: ConversionOptions, second: SecondReader | None = None
) -> list[PageContent]:
    try:
        indices = select_pages(options.pages, limits.image_page_count(path))
        return [_ocr_frame(path, index, second) for index in indices]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise UnreadableDocument(f"not a readable image: {error}") from error


def _ocr_frame(path: Path, index: int, second: SecondReader | None) -> PageContent:
    with ocr.one_picture_at_a_time:
        pixels = np.asarray(_fitted_frame(path, index))
        lines, (height, width) = ocr.recognize(
            np.ascontiguousarray(pixels[:, :, ::-1]), second=second
        )
    return PageContent(index, float(width), float(height), ocr.words_from_lines(lines, 1.0))


def _fitted_frame(path: Path, index: int) -> Image.Image:
    """The frame in RGB, scaled down to the render budget. The frame at full size (up to
    MAX_IMAGE_PIXELS at 4 bytes each) is released on return, before OCR runs."""
    with Image.open(path) as image:
        image.seek(index)
        return limits.fit_for_ocr(image).convert("RGB")
