"""Documents made by the tests themselves: PDFs drawn with PDFium, images drawn with Pillow.

Each one isolates a single property (an orientation, a script, a font size) that real documents
mix, so a failing test names the property that broke.
"""

from __future__ import annotations

import ctypes
import re
import textwrap
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype")
PORTRAIT = (612.0, 792.0)

FIRST_PARAGRAPH = (
    "Harbour pilots guide every freighter through the narrow channel at dawn, reading the "
    "tide tables twice before they leave the quay. Their logbooks record wind, swell and the "
    "name of each vessel, so that the next crew knows what waited beyond the breakwater."
)
SECOND_PARAGRAPH = (
    "Inland, the orchard growers prune apricot trees in late winter and graft new varieties "
    "onto old roots. By midsummer the packing sheds run until midnight, and lorries carry the "
    "fruit to markets in seven provinces before it softens."
)

# How each page of the orientation document is drawn: (page /Rotate, page size, the transform
# applied to text laid out on an upright portrait page, how each line is stored). Quarter turns
# of the text matrix need a landscape page to fit. The mirror flips x: every line runs right to
# left in mirrored glyphs, and producers store it three ways: as written, glyph by glyph from
# the left as a viewer sees it (the line from its end). A last page mirrors each glyph in place
# instead: every line is drawn with a mirroring matrix from its end, so it stores the reversed
# string while a viewer sees the words in their places.
W, H = PORTRAIT
RECT, DISC = "rect", "disc"
WHITE_RECT = "white rect"  # filled white, as a spreadsheet exported to PDF fills its cells
GRID_BORDER = 0.75  # points: a browser's thinnest cell border
QUARTERS = [(1, 0), (0, 1), (-1, 0), (0, -1)]
MIRROR = (-1, 0, 0, 1, W, 0)
AS_WRITTEN, GLYPHS_FROM_LEFT, REVERSED = "as written", "glyph by glyph from the left", "reversed"
ORIENTATIONS = {
    "upright": (0, (W, H), (1, 0, 0, 1, 0, 0), AS_WRITTEN),
    "/Rotate 90": (90, (W, H), (1, 0, 0, 1, 0, 0), AS_WRITTEN),
    "/Rotate 180": (180, (W, H), (1, 0, 0, 1, 0, 0), AS_WRITTEN),
    "/Rotate 270": (270, (W, H), (1, 0, 0, 1, 0, 0), AS_WRITTEN),
    "text turned 90": (0, (H, W), (0, 1, -1, 0, H, 0), AS_WRITTEN),
    "text turned 180": (0, (W, H), (-1, 0, 0, -1, W, H), AS_WRITTEN),
    "text turned 270": (0, (H, W), (0, -1, 1, 0, 0, W), AS_WRITTEN),
    "mirrored": (0, (W, H), MIRROR, AS_WRITTEN),
    "mirrored, lines stored from the end": (0, (W, H), MIRROR, GLYPHS_FROM_LEFT),
    "mirrored glyphs, lines stored reversed": (0, (W, H), (1, 0, 0, 1, 0, 0), REVERSED),
}


def _wide(text: str):
    data = (text + "\0").encode("utf-16-le")
    return ctypes.cast(ctypes.create_string_buffer(data, len(data)), pdfium_c.FPDF_WIDESTRING)


def _compose(x: float, y: float, transform) -> tuple[float, ...]:
    """The text object's matrix: placed at (x, y) on the upright page, then transformed."""
    a, b, c, d, e, f = transform
    return (a, b, c, d, a * x + c * y + e, b * x + d * y + f)


def _compose_matrix(first, then) -> tuple[float, ...]:
    a, b, c, d, e, f = first
    ta, tb, tc, td, te, tf = then
    return (
        a * ta + b * tc,
        a * tb + b * td,
        c * ta + d * tc,
        c * tb + d * td,
        e * ta + f * tc + te,
        e * tb + f * td + tf,
    )


class PdfMaker:
    """A PDF under construction: pages of text objects in standard or embedded fonts."""

    def __init__(self):
        self.document = pdfium.PdfDocument.new()
        self.fonts: dict[str, object] = {}

    def font(self, name: str):
        if name not in self.fonts:
            if name.endswith(".ttf"):
                data = (FONTS / name).read_bytes()
                buffer = ctypes.create_string_buffer(data, len(data))
                self.fonts[name] = pdfium_c.FPDFText_LoadFont(
                    self.document.raw,
                    ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8)),
                    len(data),
                    pdfium_c.FPDF_FONT_TRUETYPE,
                    True,
                )
            else:
                self.fonts[name] = pdfium_c.FPDFText_LoadStandardFont(
                    self.document.raw, name.encode()
                )
        return self.fonts[name]

    def page(
        self,
        lines,
        size=PORTRAIT,
        rotation: int = 0,
        transform=(1, 0, 0, 1, 0, 0),
        storage: str = AS_WRITTEN,
        pictures=(),
        shapes=(),
    ):
        """A page of `lines`: (text, x, baseline from the top, font size, font name) each.

        `storage` GLYPHS_FROM_LEFT draws every glyph as its own object, in the order a viewer
        sees them from left to right once `transform` is applied; REVERSED stores each line's
        string backwards in mirrored glyphs, from where the line would end. `pictures` are
        (Pillow image, x, top, width) each, in points from the top-left corner; `shapes` are
        filled (RECT, WHITE_RECT or DISC, x, top, width, height) each, as browsers draw borders
        and bullets.
        """
        page = self.document.new_page(*size)
        for text, x, from_top, font_size, font_name in lines:
            y = PORTRAIT[1] - from_top
            if storage == REVERSED:
                end = self._advances(text + " ", font_size, font_name)[-1][1]
                mirrored = (-1, 0, 0, 1, x + end, y)
                self._text(
                    page, text[::-1], font_size, font_name, _compose_matrix(mirrored, transform)
                )
                continue
            if storage == AS_WRITTEN:
                self._text(page, text, font_size, font_name, _compose(x, y, transform))
                continue
            placed = [
                (_compose(x + offset, y, transform), glyph)
                for glyph, offset in self._advances(text, font_size, font_name)
                if not glyph.isspace()
            ]
            for matrix, glyph in sorted(placed, key=lambda item: item[0][4]):
                self._text(page, glyph, font_size, font_name, matrix)
        for picture, x, from_top, width in pictures:
            height = width * picture.height / picture.width
            image = pdfium.PdfImage.new(self.document)
            image.set_bitmap(pdfium.PdfBitmap.from_pil(picture.convert("RGB")))
            image.set_matrix(
                pdfium.PdfMatrix().scale(width, height).translate(x, size[1] - from_top - height)
            )
            page.insert_obj(image)
        for kind, x, from_top, width, height in shapes:
            self._shape(page, kind, x, size[1] - from_top - height, width, height)
        pdfium_c.FPDFPage_GenerateContent(page.raw)
        if rotation:
            page.set_rotation(rotation)
        page.close()

    def _text(self, page, text: str, font_size: float, font_name: str, matrix) -> None:
        obj = pdfium_c.FPDFPageObj_CreateTextObj(self.document.raw, self.font(font_name), font_size)
        pdfium_c.FPDFText_SetText(obj, _wide(text))
        pdfium_c.FPDFPageObj_Transform(obj, *matrix)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)

    def _shape(self, page, kind: str, x: float, y: float, width: float, height: float) -> None:
        if kind in (RECT, WHITE_RECT):
            obj = pdfium_c.FPDFPageObj_CreateNewRect(x, y, width, height)
            if kind == WHITE_RECT:
                pdfium_c.FPDFPageObj_SetFillColor(obj, 255, 255, 255, 255)
        else:  # four Bézier quarters, as a disc is drawn
            rx, ry, k = width / 2, height / 2, 0.5523
            cx, cy = x + rx, y + ry
            obj = pdfium_c.FPDFPageObj_CreateNewPath(cx + rx, cy)
            for (px, py), (qx, qy) in zip(QUARTERS, QUARTERS[1:] + QUARTERS[:1], strict=True):
                pdfium_c.FPDFPath_BezierTo(
                    obj,
                    cx + rx * (px + k * qx),
                    cy + ry * (py + k * qy),
                    cx + rx * (qx + k * px),
                    cy + ry * (qy + k * py),
                    cx + rx * qx,
                    cy + ry * qy,
                )
            pdfium_c.FPDFPath_Close(obj)
        pdfium_c.FPDFPath_SetDrawMode(obj, pdfium_c.FPDF_FILLMODE_WINDING, False)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)

    def _advances(self, text: str, font_size: float, font_name: str):
        """Each character of `text` with its distance from the start of the line, as PDFium
        lays the line out (read back from a scratch page)."""
        scratch = self.document.new_page(*PORTRAIT)
        self._text(scratch, text, font_size, font_name, (1, 0, 0, 1, 0, 100))
        pdfium_c.FPDFPage_GenerateContent(scratch.raw)
        textpage = scratch.get_textpage()
        x, y = ctypes.c_double(), ctypes.c_double()
        found = []
        for index in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, x, y)
            found.append((chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index)), x.value))
        textpage.close()
        scratch.close()
        pdfium_c.FPDFPage_Delete(self.document.raw, len(self.document) - 1)
        return found

    def save(self, path: Path) -> Path:
        self.document.save(str(path))
        self.document.close()
        return path


def paragraph_lines(
    paragraphs, top: float = 90.0, size: float = 11.0, font: str = "Helvetica", width: int = 80
):
    """Paragraphs set as left-aligned lines on a portrait page, a blank line between them."""
    lines, y = [], top
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, width):
            lines.append((line, 72.0, y, size, font))
            y += size * 1.3
        y += size * 1.3
    return lines


def orientation_pdf(path: Path) -> Path:
    """The same two paragraphs on one page per entry of ORIENTATIONS, in that order."""
    maker = PdfMaker()
    body = paragraph_lines([FIRST_PARAGRAPH, SECOND_PARAGRAPH])
    for rotation, size, transform, storage in ORIENTATIONS.values():
        maker.page(body, size=size, rotation=rotation, transform=transform, storage=storage)
    return maker.save(path)


def text_picture(lines: list[str], font: str, size: int = 44) -> Image.Image:
    """Black text on white, as a 300 dpi scan of 10-11 point type would show it."""
    face = ImageFont.truetype(str(FONTS / font), size)
    height = int(size * 1.8)
    width = max(int(face.getlength(line)) for line in lines) + 160
    image = Image.new("L", (width, height * len(lines) + 160), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((80, 80 + index * height), line, font=face, fill=0)
    return image


def text_image(path: Path, lines: list[str], font: str, size: int = 44) -> Path:
    text_picture(lines, font, size).save(path)
    return path


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_recall(expected: str, found: str) -> float:
    wanted, got = Counter(words(expected)), Counter(words(found))
    return sum(min(count, got[word]) for word, count in wanted.items()) / sum(wanted.values())


def flat(text: str) -> str:
    return " ".join(text.split())


def grid(
    rows, *, widths, joined=(), left=85.0, top=100.0, font="Helvetica", size=11.0, leading=13.0
):
    """A table drawn cell by cell: text lines and border rectangles for PdfMaker.page.

    A cell is a string or a list of lines (a cell that wraps); cells are padded by 4 points, so
    neighbouring cells' text sits about a word space apart. `joined` holds (row, column) pairs
    whose left rule is not drawn: the cell spans it and the one before, its text given there.
    """
    lines, shapes, y = [], [], top
    for number, row in enumerate(rows):
        cells = [[cell] if isinstance(cell, str) else cell for cell in row]
        height = 8 + leading * max(len(cell) for cell in cells)
        x = left
        for column, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            for index, text in enumerate(cell):
                if text:
                    lines.append((text, x + 4, y + 1 + leading * (index + 1), size, font))
            shapes.append((RECT, x, y, width, GRID_BORDER))
            if (number, column) not in joined:
                shapes.append((RECT, x, y, GRID_BORDER, height))
            x += width
        shapes.append((RECT, x, y, GRID_BORDER, height))
        y += height
    shapes.append((RECT, left, y, sum(widths) + GRID_BORDER, GRID_BORDER))
    return lines, shapes
