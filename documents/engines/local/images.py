"""Image files: every frame of a TIFF is a page; other formats are read as one picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from ..base import ConversionOptions, UnreadableDocument, select_pages
from . import ocr
from .pdf import PageContent
from .second import SecondReader

MULTI_PAGE_FORMATS = {"TIFF"}


def image_pages(
    path: Path, options: ConversionOptions, second: SecondReader | None = None
) -> list[PageContent]:
    try:
        with Image.open(path) as image:
            frames = (
                list(ImageSequence.Iterator(image))
                if image.format in MULTI_PAGE_FORMATS
                else [image]
            )
            indices = select_pages(options.pages, len(frames))
            return [_ocr_frame(frames[index], index, second) for index in indices]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(f"not a readable image: {error}") from error


def _ocr_frame(frame: Image.Image, index: int, second: SecondReader | None) -> PageContent:
    rgb = np.asarray(frame.convert("RGB"))
    lines, (height, width) = ocr.recognize(np.ascontiguousarray(rgb[:, :, ::-1]), second=second)
    return PageContent(index, float(width), float(height), ocr.words_from_lines(lines, 1.0))
