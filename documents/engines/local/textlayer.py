"""Read a PDF page's text layer into words and its vector strokes into rules.

PDFium is called once per character through its C API, while everything after that works on
whole words, which keeps a dense page well under ten milliseconds. The per-character and
per-object calls skip the binding's argument checks (`_unchecked`).
"""

from __future__ import annotations

import bisect
import ctypes
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import pypdfium2.raw as pdfium_c

from .geometry import RTL_RE, Rule, Word

BOLD_NAME_PARTS = ("bold", "black", "heavy", "semibold", "demi", "-bd", ",bd")
ITALIC_NAME_PARTS = ("italic", "oblique", "-it", ",it")
# A font named for a style that is not bold is not bold, whatever weight PDFium reports: where
# the font does not state its weight, PDFium estimates it from the stems' width, and browsers'
# oblique fonts come out at 600 and more beside 225 for their upright faces.
NOT_BOLD_NAME_PARTS = (*ITALIC_NAME_PARTS, "regular", "roman", "book", "light")
MONO_NAME_PARTS = ("mono", "courier", "consol", "menlo", "code")
FONT_FLAG_FIXED_PITCH = 1
FONT_FLAG_ITALIC = 1 << 6
FONT_FLAG_FORCE_BOLD = 1 << 18
RTL_BIDI = {"R", "AL"}
SEPARATOR_CODES = frozenset((0xA0, 0x2028, 0x2029, 0xFFFF))
HYPHENATION_CODES = frozenset((0x02, 0xAD, 0xFFFE))
DOT = 0x2E
SPACE = 0x20
ACCENT_CATEGORIES = frozenset(("Mn", "Sk", "Lm"))
TRAILING_MARKS = frozenset(".,;:!?")
LEADER_RE = re.compile(r"^[.·…_]{2,}$")
RULE_THICKNESS = 2.5
RULE_MIN_LENGTH = 6.0
# A bullet drawn as a shape: a disc or square this many of its line's font size across at most,
# nearly as tall as wide, within this many font sizes left of the line's first word.
BULLET_MAX_EM = 0.7
BULLET_GAP_EM = 2.5
BULLET_ASPECT = 1.5
BULLET_ALIGNMENT = 1.0  # points between the edges of two bullets of one list
WHITE_LEVEL = 250  # a fill with every channel at least this (of 255) is white
MAX_BULLET_MARKS = 500  # more small marks than this on a page: a pattern or a plot, not lists
# A word drawn again over itself, its edges within this many points (and a tenth of its size):
# one word on the page. Drawn a little to the side, the copy thickens it: the producer's bold.
OVERPRINT_TOLERANCE = 1.0
OVERPRINT_BOLD_SHIFT = 0.05
OVERPRINT_BAND = 8.0


def _unchecked(function, restype=ctypes.c_int):
    """`function` called as PyDLL calls it: the arguments passed as they are, not converted to
    the binding's declared types, and the GIL kept. PDFium answers a query about one character
    or object in a fraction of a microsecond; the binding's conversions and GIL release cost
    two to three times that, about half of reading a text layer. Callers pass only ctypes
    pointers, `byref`s, ctypes numbers and Python ints that fit a C int."""
    return ctypes.PYFUNCTYPE(restype)(ctypes.cast(function, ctypes.c_void_p).value)


_get_unicode = _unchecked(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint)
_get_loose_char_box = _unchecked(pdfium_c.FPDFText_GetLooseCharBox)
_is_generated = _unchecked(pdfium_c.FPDFText_IsGenerated)
_get_matrix = _unchecked(pdfium_c.FPDFText_GetMatrix)
_get_font_size = _unchecked(pdfium_c.FPDFText_GetFontSize, ctypes.c_double)
_get_font_info = _unchecked(pdfium_c.FPDFText_GetFontInfo, ctypes.c_ulong)
_get_font_weight = _unchecked(pdfium_c.FPDFText_GetFontWeight)
_get_text_object = _unchecked(pdfium_c.FPDFText_GetTextObject, pdfium_c.FPDF_PAGEOBJECT)
_get_text_object_font = _unchecked(pdfium_c.FPDFTextObj_GetFont, ctypes.c_void_p)
_get_object = _unchecked(pdfium_c.FPDFPage_GetObject, pdfium_c.FPDF_PAGEOBJECT)
_get_object_type = _unchecked(pdfium_c.FPDFPageObj_GetType)
_get_object_bounds = _unchecked(pdfium_c.FPDFPageObj_GetBounds)


class Orientation(NamedTuple):
    """Which way a page's lines run, in the visual frame (y down): `flow` is the direction of
    reading along a line, `up` the direction from baseline to cap height, both unit vectors along
    an axis. Upright text flows (1, 0) with up (0, -1); a mirrored line flows (-1, 0) with the
    same up, so the pair tells a mirror from a half turn (which flips both)."""

    flow: tuple[int, int] = (1, 0)
    up: tuple[int, int] = (0, -1)

    @property
    def mirrored(self) -> bool:
        (fx, fy), (ux, uy) = self.flow, self.up
        return fx * uy - fy * ux > 0

    def box(self, x0: float, top: float, x1: float, bottom: float):
        """A visual box in the frame where this orientation reads left to right, top to bottom
        (up to a translation: the frame's origin is fixed by `PageFrame`)."""
        (fx, fy), (ux, uy) = self.flow, self.up
        a, b = (fx * x0, fx * x1) if fx else (fy * top, fy * bottom)
        c, d = (-ux * x0, -ux * x1) if ux else (-uy * top, -uy * bottom)
        return min(a, b), min(c, d), max(a, b), max(c, d)


UPRIGHT = Orientation()


def orientation_of(a: float, b: float, c: float, d: float, rotation: int) -> Orientation:
    """The orientation of a glyph whose user-space matrix is (a b c d) on a page with /Rotate.

    The glyph's x axis is its flow; its up is the x axis turned a quarter counter-clockwise, or
    clockwise when the matrix mirrors (negative determinant). Both are taken to the visual frame
    and snapped to the nearest axis (a slanted italic still reads along its baseline).
    """
    mirrored = a * d - b * c < 0
    up = (b, -a) if mirrored else (-b, a)
    return Orientation(_to_visual_axis(a, b, rotation), _to_visual_axis(*up, rotation))


def _to_visual_axis(x: float, y: float, rotation: int) -> tuple[int, int]:
    if rotation == 90:
        x, y = y, x
    elif rotation == 180:
        x, y = -x, y
    elif rotation == 270:
        x, y = -y, -x
    else:
        y = -y
    if abs(x) >= abs(y):
        return (1 if x >= 0 else -1, 0)
    return (0, 1 if y >= 0 else -1)


class PageFrame:
    """Maps PDF user space (y up, unrotated) to the frame layout works in: the visual frame
    (y down, after /Rotate), turned so that the page's text reads left to right, top to bottom.

    `orientation` is how the page's text runs in the visual frame; a page whose text is turned
    (by /Rotate or by its text matrices) or mirrored is read as if it had been turned upright.
    """

    def __init__(
        self, width: float, height: float, rotation: int, orientation: Orientation = UPRIGHT
    ):
        self.width, self.height, self.rotation = width, height, rotation % 360
        self.orientation = orientation
        x0, y0, x1, y1 = orientation.box(0.0, 0.0, *self.viewer_size)
        self._origin = (x0, y0)
        self.size = (x1 - x0, y1 - y0)

    def oriented(self, orientation: Orientation) -> PageFrame:
        return PageFrame(self.width, self.height, self.rotation, orientation)

    @property
    def viewer_size(self) -> tuple[float, float]:
        """Width and height as a viewer shows the page (after /Rotate, before any turn)."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def viewer_box(self, left: float, bottom: float, right: float, top: float):
        """(x0, top, x1, bottom) of a user-space box as a viewer sees it (after /Rotate)."""
        w, h = self.width, self.height
        if self.rotation == 90:
            return bottom, left, top, right
        if self.rotation == 180:
            return w - right, bottom, w - left, top
        if self.rotation == 270:
            return h - top, w - right, h - bottom, w - left
        return left, h - top, right, h - bottom

    def turn(self, x0: float, top: float, x1: float, bottom: float):
        """A box as the viewer sees it, in this frame."""
        if self.orientation == UPRIGHT:
            return x0, top, x1, bottom
        a, b, c, d = self.orientation.box(x0, top, x1, bottom)
        ox, oy = self._origin
        return a - ox, b - oy, c - ox, d - oy

    def box(self, left: float, bottom: float, right: float, top: float):
        """(x0, top, x1, bottom) of a user-space box in this frame."""
        return self.turn(*self.viewer_box(left, bottom, right, top))


def page_frame(page) -> PageFrame:
    raw_page = page.raw
    width = pdfium_c.FPDF_GetPageWidthF(raw_page)
    height = pdfium_c.FPDF_GetPageHeightF(raw_page)
    rotation = page.get_rotation()
    if rotation in (90, 270):
        width, height = height, width
    return PageFrame(width, height, rotation)


class _FontStyles:
    """Caches (bold, italic, fixed-pitch) per font name: PDFium reports the name and flags per
    character.

    A character's font is its text object's, so each font's style is kept too: asking PDFium
    for a character's font costs half of asking for the font's name (GeoTopo sets about one
    text object per word, so keeping styles per text object saved nothing there).
    """

    BUFFER_SIZE = 256

    def __init__(self, textpage):
        self.textpage = textpage
        self.buffer = ctypes.create_string_buffer(self.BUFFER_SIZE)
        self.buffer_size = ctypes.c_ulong(self.BUFFER_SIZE)
        self.flags = ctypes.c_int()
        self.flags_ref = ctypes.byref(self.flags)
        self.cache: dict[bytes, tuple[bool, bool, bool]] = {}
        self.by_font: dict[int, tuple[bool, bool, bool]] = {}

    def style(self, index: int) -> tuple[bool, bool, bool]:
        font = _get_text_object_font(_get_text_object(self.textpage, index))
        found = self.by_font.get(font)
        if found is None:
            found = self._font_style(index)
            if font:
                self.by_font[font] = found
        return found

    def _font_style(self, index: int) -> tuple[bool, bool, bool]:
        length = _get_font_info(self.textpage, index, self.buffer, self.buffer_size, self.flags_ref)
        name = self.buffer.raw[: max(length - 1, 0)]
        key = name + self.flags.value.to_bytes(4, "little")
        found = self.cache.get(key)
        if found is None:
            lowered = name.decode("latin-1").lower()
            flags = self.flags.value
            weight = _get_font_weight(self.textpage, index)
            bold = (
                any(part in lowered for part in BOLD_NAME_PARTS)
                or bool(flags & FONT_FLAG_FORCE_BOLD)
                or (weight >= 600 and not any(part in lowered for part in NOT_BOLD_NAME_PARTS))
            )
            italic = any(part in lowered for part in ITALIC_NAME_PARTS) or bool(
                flags & FONT_FLAG_ITALIC
            )
            mono = bool(flags & FONT_FLAG_FIXED_PITCH) or any(
                part in lowered for part in MONO_NAME_PARTS
            )
            found = self.cache[key] = (bold, italic, mono)
        return found


@dataclass
class TextLayer:
    """A page's words in its reading frame (words that run another way, such as a vertical
    margin note on an upright page, are left out)."""

    frame: PageFrame
    words: list[Word]


def read_words(page, textpage, frame: PageFrame) -> TextLayer:
    """The page's words in content order, in the frame of the way most of its text runs.

    A word ends at whitespace, at a control or generated character, at a dot leader (runs of
    dots that fill table cells are dropped), or where the next glyph jumps away: a new line, or a
    gap wider than a narrow space, since PDFs often place table cells with no space between them.
    Each word is followed in its own glyphs' orientation, so a line turned a quarter or mirrored
    is cut the same way as an upright one; glyphs that step backwards along the line (a mirrored
    line stored from its end, a right-to-left word stored in reading order) are put back in
    left-to-right order. Hyphenation marks (soft hyphen, U+FFFE) end a word with "-" so
    paragraphs can rejoin it.
    """
    raw_tp = textpage.raw
    count = pdfium_c.FPDFText_CountChars(raw_tp)
    rect = ctypes.byref(rect_struct := pdfium_c.FS_RECTF())
    matrix = ctypes.byref(matrix_struct := pdfium_c.FS_MATRIX())
    get_unicode = _get_unicode
    get_box = _get_loose_char_box
    is_generated = _is_generated
    styles = _FontStyles(raw_tp)
    rotation = frame.rotation
    page_height = frame.height
    to_viewer = frame.viewer_box
    orientations: dict[tuple[float, float, float, float], Orientation] = {}
    found: list[tuple[Word, Orientation]] = []

    chars: list[str] = []
    first = -1
    orientation = UPRIGHT
    upright = True
    backwards = False
    size = 0.0
    x0 = top = x1 = bottom = 0.0
    p_x0 = p_top = p_x1 = p_bottom = 0.0

    def flush() -> None:
        if not chars:
            return
        text = "".join(reversed(chars) if backwards else chars)
        chars.clear()
        if LEADER_RE.match(text):
            return
        bold, italic, mono = styles.style(first)
        found.append(
            (
                Word(_logical_order(text), x0, top, x1, bottom, size, bold, italic, mono),
                orientation,
            )
        )

    in_leader = False
    guessed_space = False
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
            if code == SPACE and chars and is_generated(raw_tp, index) == 1:
                guessed_space = True
            else:
                flush()
            continue
        get_box(raw_tp, index, rect)
        if rotation:
            box = to_viewer(
                rect_struct.left, rect_struct.bottom, rect_struct.right, rect_struct.top
            )
        else:
            box = (
                rect_struct.left,
                page_height - rect_struct.top,
                rect_struct.right,
                page_height - rect_struct.bottom,
            )
        c_x0, _c_top, c_x1, c_bottom = box if upright else orientation.box(*box)
        if chars:
            # Does this glyph (in its word's frame) continue the word after the previous one?
            height = p_bottom - p_top if p_bottom - p_top > 1.0 else 1.0
            if abs(c_bottom - p_bottom) > height * 0.5:
                flush()
            elif backwards:
                # Stored from its end, a line has no space characters and PDFium's guessed
                # spaces are unreliable: geometry alone tells words apart (a word space is a
                # quarter em at least, and glyphs of one word touch).
                gap = p_x0 - c_x1
                if (
                    gap > height * 0.15
                    or -gap > height * 1.5
                    or guessed_space
                    and gap > height * 0.1
                ):
                    flush()
            elif (
                len(chars) == 1
                and c_x1 <= p_x0 + height * 0.1
                and p_x0 - c_x1 <= (height * 0.1 if guessed_space else height * 0.25)
                and unicodedata.category(chars[0]) not in ACCENT_CATEGORIES
            ):
                # The second glyph sits wholly before the first: the word is stored backwards
                # (an accent set over its letter before it, a spacing tilde, is no such first).
                backwards = True
            elif guessed_space or c_x0 - p_x1 > height * 0.25 or p_x1 - c_x0 > height * 1.5:
                flush()
        guessed_space = False
        if not chars:
            first = index
            _get_matrix(raw_tp, index, matrix)
            m = matrix_struct
            key = (m.a, m.b, m.c, m.d)
            orientation = orientations.get(key) or orientations.setdefault(
                key, orientation_of(*key, rotation)
            )
            upright = orientation == UPRIGHT
            c_x0, _c_top, c_x1, c_bottom = box if upright else orientation.box(*box)
            scale = math.sqrt(abs(m.a * m.d - m.b * m.c))
            size = _get_font_size(raw_tp, index) * scale
            backwards = False
            x0, top, x1, bottom = box
        else:
            if box[0] < x0:
                x0 = box[0]
            if box[1] < top:
                top = box[1]
            if box[2] > x1:
                x1 = box[2]
            if box[3] > bottom:
                bottom = box[3]
        chars.append(chr(code))
        p_x0, p_top, p_x1, p_bottom = c_x0, _c_top, c_x1, c_bottom
    flush()
    return _in_main_orientation(frame, _without_overprints(found))


def _without_overprints(found: list[tuple[Word, Orientation]]) -> list[tuple[Word, Orientation]]:
    """Each word once where the producer drew it twice in place: a whole page drawn again (each
    word would read twice, "de de"), or a line drawn again a fraction of a point to the right
    for want of a bold face. The copy that thickens a word makes it bold.

    Earlier words are kept by text and by band of OVERPRINT_BAND points of their tops, so a word
    is compared with the few of its text in its band (and the next band, when its top lies
    within OVERPRINT_TOLERANCE of the edge): this runs on every word of every page."""
    placed: dict[tuple[str, int], list[Word]] = {}
    kept: list[tuple[Word, Orientation]] = []
    for pair in found:
        word = pair[0]
        band = int(word.top // OVERPRINT_BAND)
        key = (word.text, band)
        earlier = placed.get(key)
        inside = word.top - band * OVERPRINT_BAND
        if (
            earlier is None
            and OVERPRINT_TOLERANCE <= inside <= OVERPRINT_BAND - OVERPRINT_TOLERANCE
        ):
            placed[key] = [word]  # the common case: no word of its text near it yet
            kept.append(pair)
            continue
        original = _copy_under(word, earlier)
        if original is None and inside < OVERPRINT_TOLERANCE:
            original = _copy_under(word, placed.get((word.text, band - 1)))
        elif original is None and inside > OVERPRINT_BAND - OVERPRINT_TOLERANCE:
            original = _copy_under(word, placed.get((word.text, band + 1)))
        if original is None:
            placed.setdefault(key, []).append(word)
            kept.append(pair)
        elif abs(original.x0 - word.x0) + abs(original.top - word.top) >= OVERPRINT_BOLD_SHIFT:
            original.bold = True
    return kept


def _copy_under(word: Word, earlier: list[Word] | None) -> Word | None:
    """The earlier word `word` was drawn over, its edges within OVERPRINT_TOLERANCE points and a
    tenth of its size."""
    if not earlier:
        return None
    tolerance = min(OVERPRINT_TOLERANCE, word.size * 0.1)
    for other in earlier:
        if (
            abs(other.x0 - word.x0) <= tolerance
            and abs(other.top - word.top) <= tolerance
            and abs(other.x1 - word.x1) <= tolerance
        ):
            return other
    return None


def _in_main_orientation(frame: PageFrame, found: list[tuple[Word, Orientation]]) -> TextLayer:
    """Turn the page's frame to the orientation most of its characters have."""
    weights: dict[Orientation, int] = {}
    for word, orientation in found:
        weights[orientation] = weights.get(orientation, 0) + len(word.text)
    main = max(weights, key=weights.__getitem__) if weights else UPRIGHT
    words = [word for word, orientation in found if orientation == main]
    if main.mirrored and _reads_backwards(words):
        main = Orientation((-main.flow[0], -main.flow[1]), main.up)
        for word in words:
            word.text = word.text[::-1]
    frame = frame.oriented(main)
    if main != UPRIGHT:  # upright words are in the page's frame already
        for word in words:
            word.x0, word.top, word.x1, word.bottom = frame.turn(
                word.x0, word.top, word.x1, word.bottom
            )
    return TextLayer(frame, words)


def _reads_backwards(words: list[Word]) -> bool:
    """Mirrored glyphs whose words read backwards along their own flow: each glyph was flipped
    in place and the line stored from its end, so a viewer reads it left to right, and every word
    must be turned round. Told by where punctuation and capitals fall: sentence marks end words
    and capitals start them, in any alphabet that has them."""
    ahead = behind = 0
    for word in words:
        text = word.text
        if len(text) < 2:
            continue
        ahead += (text[-1] in TRAILING_MARKS) + (text[0].isupper() and text[1:].islower())
        behind += (text[0] in TRAILING_MARKS) + (text[-1].isupper() and text[:-1].islower())
    return behind > ahead


def _logical_order(text: str) -> str:
    """Reverse right-to-left words that the producer stored in visual order.

    PDFium hands over glyphs in content-stream order; a word made of Hebrew or Arabic letters whose
    content order ran left to right is stored visually and reads backwards unless reversed (marks
    then precede their base letter, so reversing character by character restores them too).
    """
    if text.isascii() or not any(unicodedata.bidirectional(ch) in RTL_BIDI for ch in text):
        return text
    return text[::-1]


@dataclass
class PageObjects:
    """A page's path and image objects, each with its user-space bounds (left, bottom, right,
    top), found in one walk over the page's objects: a page of formulas has thousands."""

    paths: list[tuple]
    images: list[tuple]


def page_objects(page) -> PageObjects:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    bounds = [ctypes.byref(value) for value in (left, bottom, right, top)]
    raw_page = page.raw
    found = PageObjects([], [])
    wanted = {pdfium_c.FPDF_PAGEOBJ_PATH: found.paths, pdfium_c.FPDF_PAGEOBJ_IMAGE: found.images}
    for index in range(pdfium_c.FPDFPage_CountObjects(raw_page)):
        obj = _get_object(raw_page, index)
        kept = wanted.get(_get_object_type(obj))
        if kept is not None and _get_object_bounds(obj, *bounds):
            kept.append((obj, (left.value, bottom.value, right.value, top.value)))
    return found


def drawn_bullets(paths: list[tuple], frame: PageFrame, words: list[Word]) -> list[Word]:
    """A "•" word for each bullet drawn as a shape (browsers draw a list's discs and squares as
    paths, not glyphs), so that its line reads as a list item as one with a typed bullet does.

    A bullet is a small, nearly square path level with the middle of the word right of it, with
    no word close on its left (it starts the line), and another like it straight above or below:
    a list has items. A point marked on a chart beside its label stands alone. In a list set
    right to left the bullet stands right of its item's last word, a right-to-left one.
    """
    if not words:
        return []
    largest = max(w.size for w in words)
    marks = []
    for _, bounds in paths:
        left, low, right, high = bounds  # a quarter turn swaps width and height: both tested
        width, height = right - left, high - low
        if 0 < width <= BULLET_ASPECT * height <= BULLET_ASPECT**2 * width <= 2 * largest:
            marks.append(frame.box(*bounds))
    if len(marks) > MAX_BULLET_MARKS:
        return []
    starts = sorted(words, key=lambda w: w.x0)
    lefts = [w.x0 for w in starts]
    ends = sorted(words, key=lambda w: w.x1)
    rights = [w.x1 for w in ends]
    bullets = []
    for x0, top, x1, bottom in marks:
        middle, extent = (top + bottom) / 2, max(x1 - x0, bottom - top)
        reach = BULLET_GAP_EM * largest
        after = starts[bisect.bisect_left(lefts, x1) : bisect.bisect_right(lefts, x1 + reach)]
        level = [w for w in after if _bullet_beside(w, w.x0 - x1, middle, extent)]
        if level:
            item, lead = level[0], (x0 - BULLET_GAP_EM * level[0].size, x1)
            if any(w.top < middle < w.bottom and lead[0] < w.x1 <= lead[1] for w in words):
                continue
        else:
            before = ends[bisect.bisect_left(rights, x0 - reach) : bisect.bisect_right(rights, x0)]
            level = [
                w
                for w in before
                if _bullet_beside(w, x0 - w.x1, middle, extent) and RTL_RE.search(w.text)
            ]
            if not level:
                continue
            item, lead = level[-1], (x0, x1 + BULLET_GAP_EM * level[-1].size)
            if any(w.top < middle < w.bottom and lead[0] <= w.x0 < lead[1] for w in words):
                continue
        bullets.append(Word("•", x0, item.top, x1, item.bottom, item.size, item.bold, item.italic))
    return [
        bullet
        for bullet in bullets
        if any(
            other.top != bullet.top
            and abs(other.x0 - bullet.x0) <= BULLET_ALIGNMENT
            and abs(other.x1 - bullet.x1) <= BULLET_ALIGNMENT
            for other in bullets
        )
    ]


def _bullet_beside(word: Word, gap: float, middle: float, extent: float) -> bool:
    """Whether a mark `extent` across, its middle at `middle`, is a bullet for `word`, `gap`
    away: level with it, close, and no bigger than a bullet in its type is."""
    return (
        0 <= gap <= BULLET_GAP_EM * word.size
        and word.top < middle < word.bottom
        and extent <= BULLET_MAX_EM * word.size
    )


def read_rules(paths: list[tuple], frame: PageFrame) -> list[Rule]:
    """Thin path objects (from `page_objects`) and the edges of rectangles: the strokes tables
    are drawn with.

    Rectangles nearly as large as the page are backgrounds or page borders, not table cells.
    """
    rules: list[Rule] = []
    page_width, page_height = frame.size
    box = frame.box
    for obj, bounds in paths:
        x0, y0, x1, y1 = box(*bounds)
        width, height = x1 - x0, y1 - y0
        if max(width, height) < RULE_MIN_LENGTH:
            continue
        if min(width, height) <= RULE_THICKNESS:
            rules.append(Rule(x0, y0, x1, y1))
        elif width > 0.9 * page_width and height > 0.9 * page_height:
            continue
        elif pdfium_c.FPDFPath_CountSegments(obj) in (4, 5) and _paints_edges(obj):
            rules.extend(
                (
                    Rule(x0, y0, x1, y0),
                    Rule(x0, y1, x1, y1),
                    Rule(x0, y0, x0, y1),
                    Rule(x1, y0, x1, y1),
                )
            )
    return rules


def _paints_edges(rectangle) -> bool:
    """Whether a rectangle's sides show: stroked, or filled in something other than white. A
    spreadsheet exported to PDF fills its cells' areas white, and a white rectangle on a white
    page draws no line (one framing the notes under a table made them its rows)."""
    fill_mode, stroked = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDFPath_GetDrawMode(rectangle, ctypes.byref(fill_mode), ctypes.byref(stroked))
    if stroked.value:
        return True
    if not fill_mode.value:
        return False
    red, green, blue, alpha = (ctypes.c_uint() for _ in range(4))
    pdfium_c.FPDFPageObj_GetFillColor(
        rectangle, *(ctypes.byref(channel) for channel in (red, green, blue, alpha))
    )
    return alpha.value > 0 and min(red.value, green.value, blue.value) < WHITE_LEVEL
