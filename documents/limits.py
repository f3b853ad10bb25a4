"""What one page may cost, whatever its file claims: the caps that bound a conversion's memory.

A 169 KB PNG can claim 12000 x 12000 pixels (1.4 GB once decoded), a 551-byte PDF a page 3000
points wide (900 MB rendered at 300 dpi), a page a billion points wide (PDFium alone then asks for
hundreds of MB, and a 14 GB bitmap to render it). Each cap is a setting (README, Configuration):

- MAX_IMAGE_PIXELS: the pixels one image, or one frame of a TIFF, may decode to. Read from its
  header without decoding, so a larger one is refused at submit (413 `image_too_large`); Pillow's
  own bomb check is set from it too, as the last line.
- MAX_RENDER_PIXELS: the pixels one page is handed to OCR with. A PDF page (or a picture on it)
  is rendered at a lower resolution when its size at the engine's resolution would need more,
  and a larger image is scaled down: a person still wants the text of a poster.
- MAX_PAGE_SIDE: the longest side a PDF page may have, in points (1/72 inch); 14,400 points
  (200 inches) is the largest page PDF itself allows. A larger one is refused (413
  `page_too_large`).
- MAX_PAGES (checked where pages are counted, `engines.base`): the pages one conversion reads.

A document past a cap is a `LimitExceeded`, a ConversionError: refused with a 413 at submit when
its header tells, or its document fails with the reason; never retried, since it cannot succeed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from pathlib import Path

import pypdfium2
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from documents import formats, pdfium
from documents.engines.base import (
    ConversionOptions,
    ImageTooLarge,
    PageTooLarge,
    TooManyPages,
    UnreadableDocument,
    select_pages,
)

MULTI_PAGE_IMAGE_FORMATS = {"TIFF"}  # every frame is a page; other formats are one picture


def check_document(path: Path, mime_type: str, options: ConversionOptions) -> list[int]:
    """The 0-based pages a conversion will read, after checking what can be known up front:
    the file opens (with its password), the requested pages exist, and none is past a cap.

    Cheap enough for every submission: PDFium reads the cross-reference table and the pages'
    sizes, not their content; an image's header is read, not its pixels.
    """
    if mime_type != formats.PDF:
        return select_pages(options.pages, image_page_count(path))
    with pdfium.lock:
        document = pdfium.open_pdf(path, options.password)
        try:
            if len(document) == 0:
                raise UnreadableDocument("the PDF has no pages")
            return check_pdf_pages(document, options.pages)
        finally:
            document.close()


def image_page_count(path: Path) -> int:
    """The pages of an image file (the frames of a TIFF), each frame's size checked against
    MAX_IMAGE_PIXELS from its header: nothing is decoded.

    Frames are walked, not counted with n_frames, and no further than MAX_PAGES: a TIFF of a
    million tiny frames is refused after a thousand headers, not after a million.
    """
    try:
        opened = Image.open(path)
    except Image.DecompressionBombError:  # Pillow's own check, at open: past twice the cap
        raise _image_too_large(f"the image has over {2 * Image.MAX_IMAGE_PIXELS:,}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(f"not a readable image: {error}") from None
    with opened as image:
        if image.format not in MULTI_PAGE_IMAGE_FORMATS:
            _check_image_size(image, 0)
            return 1
        count = 0
        while True:
            try:
                image.seek(count)
            except EOFError:
                return count
            if count == settings.MAX_PAGES:
                raise TooManyPages(
                    f"the image has more than {count:,} frames; at most {count:,} pages are "
                    "converted at once (MAX_PAGES)",
                    setting="MAX_PAGES",
                    maximum=count,
                )
            _check_image_size(image, count)
            count += 1


def _check_image_size(image: Image.Image, index: int) -> None:
    width, height = image.size
    if width * height > settings.MAX_IMAGE_PIXELS:
        where = f"frame {index + 1} of the image" if index else "the image"
        raise _image_too_large(f"{where} is {width} x {height} = {width * height:,}")


def _image_too_large(what: str) -> ImageTooLarge:
    return ImageTooLarge(
        f"{what} pixels: more than the {settings.MAX_IMAGE_PIXELS:,} an image may have "
        "(MAX_IMAGE_PIXELS)",
        setting="MAX_IMAGE_PIXELS",
        maximum=settings.MAX_IMAGE_PIXELS,
    )


def fit_for_ocr(image: Image.Image) -> Image.Image:
    """The image, scaled down by a whole factor (a cheap box filter) to fit MAX_RENDER_PIXELS."""
    width, height = image.size
    factor = math.ceil(math.sqrt(width * height / settings.MAX_RENDER_PIXELS))
    return image.reduce(factor) if factor > 1 else image


def check_pdf_pages(
    document: pypdfium2.PdfDocument, requested: tuple[int, ...] | None
) -> list[int]:
    """0-based indices of the requested pages, each checked against MAX_PAGE_SIDE (and the
    count against MAX_PAGES). Reads page sizes without loading the pages; hold pdfium.lock."""
    indices = select_pages(requested, len(document))
    for index in indices:
        width, height = document.get_page_size(index)
        if max(width, height) > settings.MAX_PAGE_SIDE:
            raise PageTooLarge(
                f"page {index + 1} is {width:,.0f} x {height:,.0f} points; pages may be at most "
                f"{settings.MAX_PAGE_SIDE:,.0f} points a side (MAX_PAGE_SIDE)",
                setting="MAX_PAGE_SIDE",
                maximum=settings.MAX_PAGE_SIDE,
            )
    return indices


def render_scale(area: float, dpi: float) -> float:
    """Pixels per point to render `area` square points at (a page, or all the pictures on one
    that are read together): `dpi`, or less when that would take more than MAX_RENDER_PIXELS."""
    return min(dpi / 72, math.sqrt(settings.MAX_RENDER_PIXELS / max(area, 1.0)))


# --- The process's memory ------------------------------------------------------------------------

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD_BYTES = 2**20
TRIM_WHEN_FREE_BYTES = 32 * 2**20


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",  # free bytes the heap holds on to
            "keepcost",
        )
    ]


def _glibc() -> tuple[ctypes.CDLL, ctypes.PyDLL] | None:
    """glibc twice: as CDLL for malloc_trim (the GIL is released while it walks the heap) and as
    PyDLL for mallinfo2 (microseconds: releasing the GIL for it cost more, in a worker of many
    threads running quick jobs, than the call itself). None elsewhere (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc, with_gil = ctypes.CDLL(name), ctypes.PyDLL(name)
    except (OSError, TypeError):
        return None
    if not all(hasattr(libc, f) for f in ("malloc_trim", "mallopt", "mallinfo2")):
        return None
    with_gil.mallinfo2.restype = _Mallinfo2
    return libc, with_gil


_GLIBC = _glibc()


def configure_process() -> None:
    """Set, once per process, what bounds memory whichever code path decodes an image.

    Pillow's bomb check is set from MAX_IMAGE_PIXELS (Pillow refuses at twice it; ours refuses at
    it, before decoding). glibc serves large blocks (rendered pages, decoded images) from their
    own mappings, returned to the system when freed, from 1 MiB up: left to itself, it raises
    that threshold to 32 MiB after the first large block is freed, and later ones then stay in
    the heap after the conversion that needed them.
    """
    Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
    if _GLIBC is not None:
        _GLIBC[0].mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def release_memory() -> None:
    """After a conversion, give the heap's free memory back to the system once it holds more
    than TRIM_WHEN_FREE_BYTES (glibc only).

    Without it a worker that once converted a large document keeps its peak for good: the freed
    memory stays in the allocator's arenas, one per thread that ever converted. Trimming walks
    the heap (milliseconds when it is large), so it runs only when there is something to give.
    """
    if _GLIBC is None:
        return
    libc, with_gil = _GLIBC
    if with_gil.mallinfo2().fordblks > TRIM_WHEN_FREE_BYTES:
        libc.malloc_trim(0)
