"""Read a PDF page's text layer into words and its vector strokes into rules.

PDFium is called once per character through its C API (about a microsecond per call), while
everything after that works on whole words, which keeps a dense page well under ten milliseconds.
"""

from __future__ import annotations

import ctypes
import math
import re
import unicodedata
from collections.abc import Iterator

import pypdfium2.raw as pdfium_c

from .geometry import Rule, Word

BOLD_NAME_PARTS = ("bold", "black", "heavy", "semibold", "demi", "-bd", ",bd")
ITALIC_NAME_PARTS = ("italic", "oblique", "-it", ",it")
FONT_FLAG_ITALIC = 1 << 6
FONT_FLAG_FORCE_BOLD = 1 << 18
RTL_BIDI = {"R", "AL"}
SEPARATOR_CODES = frozenset((0xA0, 0x2028, 0x2029, 0xFFFF))
HYPHENATION_CODES = frozenset((0x02, 0xAD, 0xFFFE))
DOT = 0x2E
LEADER_RE = re.compile(r"^[.·…_]{2,}$")
RULE_THICKNESS = 2.5
RULE_MIN_LENGTH = 6.0


class PageFrame:
    """Maps PDF user space (y up, unrotated) to the visual frame (y down, after /Rotate)."""

    def __init__(self, width: float, height: float, rotation: int):
        self.width, self.height, self.rotation = width, height, rotation % 360

    @property
    def visual_size(self) -> tuple[float, float]:
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def box(self, left: float, bottom: float, right: float, top: float):
        """(x0, top, x1, bottom) of a user-space box in the visual frame."""
        w, h = self.width, self.height
        if self.rotation == 90:
            return bottom, left, top, right
        if self.rotation == 180:
            return w - right, bottom, w - left, top
        if self.rotation == 270:
            return h - top, w - right, h - bottom, w - left
        return left, h - top, right, h - bottom


def page_frame(page) -> PageFrame:
    raw_page = page.raw
    width = pdfium_c.FPDF_GetPageWidthF(raw_page)
    height = pdfium_c.FPDF_GetPageHeightF(raw_page)
    rotation = page.get_rotation()
    if rotation in (90, 270):
        width, height = height, width
    return PageFrame(width, height, rotation)


class _FontStyles:
    """Caches (bold, italic) per font name: PDFium reports the name and flags per character."""

    def __init__(self, textpage):
        self.textpage = textpage
        self.buffer = ctypes.create_string_buffer(256)
        self.flags = ctypes.c_int()
        self.cache: dict[bytes, tuple[bool, bool]] = {}

    def style(self, index: int) -> tuple[bool, bool]:
        length = pdfium_c.FPDFText_GetFontInfo(self.textpage, index, self.buffer, 256, self.flags)
        name = self.buffer.raw[: max(length - 1, 0)]
        key = name + self.flags.value.to_bytes(4, "little")
        found = self.cache.get(key)
        if found is None:
            lowered = name.decode("latin-1").lower()
            flags = self.flags.value
            weight = pdfium_c.FPDFText_GetFontWeight(self.textpage, index)
            bold = (
                any(part in lowered for part in BOLD_NAME_PARTS)
                or bool(flags & FONT_FLAG_FORCE_BOLD)
                or weight >= 600
            )
            italic = any(part in lowered for part in ITALIC_NAME_PARTS) or bool(
                flags & FONT_FLAG_ITALIC
            )
            found = self.cache[key] = (bold, italic)
        return found


def read_words(page, textpage, frame: PageFrame) -> tuple[list[Word], list[Word]]:
    """Words of the page in content order: (upright words, words rotated against the page).

    A word ends at whitespace, at a control or generated character, at a dot leader (runs of
    dots that fill table cells are dropped), or where the next glyph jumps away: a new line, or a
    gap wider than a narrow space, since PDFs often place table cells with no space between them.
    Hyphenation marks (soft hyphen, U+FFFE) end a word with "-" so paragraphs can rejoin it.
    """
    raw_tp = textpage.raw
    count = pdfium_c.FPDFText_CountChars(raw_tp)
    rect = ctypes.byref(rect_struct := pdfium_c.FS_RECTF())
    matrix = ctypes.byref(matrix_struct := pdfium_c.FS_MATRIX())
    get_unicode = pdfium_c.FPDFText_GetUnicode
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    styles = _FontStyles(raw_tp)
    upright_angle = frame.rotation
    upright: list[Word] = []
    rotated: list[Word] = []

    chars: list[str] = []
    first = -1
    x0 = top = x1 = bottom = 0.0
    prev_x1 = prev_top = prev_bottom = 0.0
    to_visual = frame.box

    def flush() -> None:
        if not chars:
            return
        text = "".join(chars)
        if LEADER_RE.match(text):
            chars.clear()
            return
        pdfium_c.FPDFText_GetMatrix(raw_tp, first, matrix)
        scale = math.sqrt(
            abs(matrix_struct.a * matrix_struct.d - matrix_struct.b * matrix_struct.c)
        )
        size = pdfium_c.FPDFText_GetFontSize(raw_tp, first) * scale
        angle = round(math.degrees(pdfium_c.FPDFText_GetCharAngle(raw_tp, first)))
        bold, italic = styles.style(first)
        word = Word(_logical_order(text), x0, top, x1, bottom, size, bold, italic)
        if _angle_distance(angle + upright_angle, 0) <= 5:
            upright.append(word)
        else:
            rotated.append(word)
        chars.clear()

    in_leader = False
    for index in range(count):
        code = get_unicode(raw_tp, index)
        if code == DOT:
            if in_leader:
                continue
            if len(chars) >= 2 and chars[-1] == chars[-2] == ".":
                del chars[-2:]
                flush()
                in_leader = True
                continue
        in_leader = False
        if code in HYPHENATION_CODES and chars:
            chars.append("-")
            flush()
            continue
        if code <= 32 or code in SEPARATOR_CODES:
            flush()
            continue
        get_box(raw_tp, index, rect)
        c_x0, c_top, c_x1, c_bottom = to_visual(
            rect_struct.left, rect_struct.bottom, rect_struct.right, rect_struct.top
        )
        if chars:
            height = max(prev_bottom - prev_top, 1.0)
            if (
                abs(c_bottom - prev_bottom) > height * 0.5
                or c_x0 - prev_x1 > height * 0.25
                or prev_x1 - c_x0 > height * 1.5
            ):
                flush()
        if not chars:
            first = index
            x0, top, x1, bottom = c_x0, c_top, c_x1, c_bottom
        else:
            x0, top = min(x0, c_x0), min(top, c_top)
            x1, bottom = max(x1, c_x1), max(bottom, c_bottom)
        chars.append(chr(code))
        prev_x1, prev_top, prev_bottom = c_x1, c_top, c_bottom
    flush()
    return upright, rotated


def _angle_distance(a: int, b: int) -> int:
    diff = abs(a - b) % 360
    return min(diff, 360 - diff)


def _logical_order(text: str) -> str:
    """Reverse right-to-left words that the producer stored in visual order.

    PDFium hands over glyphs in content-stream order; a word made of Hebrew or Arabic letters whose
    content order ran left to right is stored visually and reads backwards unless reversed (marks
    then precede their base letter, so reversing character by character restores them too).
    """
    if not any(unicodedata.bidirectional(ch) in RTL_BIDI for ch in text):
        return text
    return text[::-1]


def object_boxes(page, frame: PageFrame, object_type: int) -> Iterator[tuple]:
    """The page's objects of one type (path, image...) with their boxes in visual coordinates."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    raw_page = page.raw
    for index in range(pdfium_c.FPDFPage_CountObjects(raw_page)):
        obj = pdfium_c.FPDFPage_GetObject(raw_page, index)
        if pdfium_c.FPDFPageObj_GetType(obj) != object_type:
            continue
        if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            yield obj, frame.box(left.value, bottom.value, right.value, top.value)


def read_rules(page, frame: PageFrame) -> list[Rule]:
    """Thin path objects and the edges of rectangles: the strokes tables are drawn with.

    Rectangles nearly as large as the page are backgrounds or page borders, not table cells.
    """
    rules: list[Rule] = []
    page_width, page_height = frame.visual_size
    for obj, (x0, y0, x1, y1) in object_boxes(page, frame, pdfium_c.FPDF_PAGEOBJ_PATH):
        width, height = x1 - x0, y1 - y0
        if max(width, height) < RULE_MIN_LENGTH:
            continue
        if min(width, height) <= RULE_THICKNESS:
            rules.append(Rule(x0, y0, x1, y1))
        elif width > 0.9 * page_width and height > 0.9 * page_height:
            continue
        elif pdfium_c.FPDFPath_CountSegments(obj) in (4, 5):
            rules.extend(
                (
                    Rule(x0, y0, x1, y0),
                    Rule(x0, y1, x1, y1),
                    Rule(x0, y0, x0, y1),
                    Rule(x1, y0, x1, y1),
                )
            )
    return rules
