"""Plain geometry records shared by the text-layer and OCR paths.

Coordinates are in points in the page's *reading* frame: origin at the top-left corner of the page
as a reader sees it (after /Rotate, and turned or unmirrored so that its text runs left to right),
y growing downwards. Keeping one frame for both paths lets the layout and Markdown code ignore
where the words came from and which way the page was set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Hebrew, Arabic and the scripts between them, and their presentation forms: written right to left.
RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
TOUCHING_EM = 0.1  # a space between two words is wider than this many font sizes
CLOSING = ",.;:!?)]}%’”"
OPENING = "([{‘“„"


@dataclass(slots=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    bold: bool = False
    italic: bool = False
    mono: bool = False  # set in a fixed-pitch font

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True)
class Line:
    """Words that share a baseline and sit close together (one column's line, or a table cell).

    The text is joined when first read: layout builds a Line for every line, chunk and cell of
    every page, and reads the text of few of them. `cell_count` is how many cells layout finds
    in a line of the reading order (runs of words set wide apart), 0 on other lines.
    """

    words: list[Word]
    x0: float = 0.0
    top: float = 0.0
    x1: float = 0.0
    bottom: float = 0.0
    size: float = 0.0
    bold: bool = False
    cell_count: int = 0
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.refresh()

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = join_words(self.words)
        return self._text

    def refresh(self) -> None:
        """Box, size (weighted by characters) and boldness (most characters) of the words, in
        one pass: layout builds a Line for every line and cell of every page."""
        words = self.words
        first = words[0]
        x0, top, x1, bottom = first.x0, first.top, first.x1, first.bottom
        total = bold = 0
        weighted = 0.0
        for word in words:
            if word.x0 < x0:
                x0 = word.x0
            if word.top < top:
                top = word.top
            if word.x1 > x1:
                x1 = word.x1
            if word.bottom > bottom:
                bottom = word.bottom
            n = len(word.text)
            total += n
            weighted += word.size * n
            if word.bold:
                bold += n
        self.x0, self.top, self.x1, self.bottom = x0, top, x1, bottom
        self._text = None
        total = total or 1
        self.size = weighted / total
        self.bold = bold > total / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True)
class Rule:
    """A horizontal or vertical stroke drawn on the page (table borders, underlines)."""

    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def horizontal(self) -> bool:
        return (self.x1 - self.x0) >= (self.bottom - self.top)


def join_words(words: list[Word]) -> str:
    """Join words left to right, or in reading order on a right-to-left line (`right_to_left`);
    each right-to-left word is already in logical order.

    No space goes between words that touch where a mark set in another size (a footnote mark or
    an exponent, raised after its word) or punctuation in another font (the comma after the
    mark, a symbol after a parenthesis) meets them; but a mark after a number stays apart
    (`750 1` is not `7501`), and so do words of two scripts set side by side.
    """
    if right_to_left(words):
        ordered = _reading_order(words)
        parts = [ordered[0].text]
        for word in ordered[1:]:  # a sentence's end, set apart at the left, ends its last word
            parts.append(word.text if all(c in CLOSING for c in word.text) else " " + word.text)
        return "".join(parts)
    if all(b.x0 - a.x1 > TOUCHING_EM * a.size for a, b in zip(words, words[1:], strict=False)):
        return " ".join(w.text for w in words)  # no word touches the one before: most lines
    parts = [words[0].text]
    for previous, word in zip(words, words[1:], strict=False):
        smaller = previous.size if previous.size < word.size else word.size
        if word.x0 - previous.x1 > TOUCHING_EM * smaller or not _glued(previous, word):
            parts.append(" ")
        parts.append(word.text)
    return "".join(parts)


def _direction(text: str) -> str | None:
    """A word's direction: R with right-to-left letters, L with other letters, else None."""
    if RTL_RE.search(text):
        return "R"
    return "L" if any(char.isalpha() for char in text) else None


def right_to_left(words: list[Word]) -> bool:
    """Whether a line is set right to left: its words at both ends are, or, where its ends
    differ (a Hebrew sentence ending in an English name; an English word before an Arabic one),
    most of its letters are."""
    if all(word.text.isascii() for word in words):
        return False
    strong = [d for d in (_direction(word.text) for word in words) if d]
    if "R" not in strong:
        return False
    if strong[0] == strong[-1]:
        return strong[0] == "R"
    return mostly_right_to_left([word.text for word in words])


def mostly_right_to_left(texts: list[str]) -> bool:
    """Whether most letters of these texts (a line's words, a region's, a table's cells) are
    right-to-left ones; marks and digits are not letters."""
    if all(text.isascii() for text in texts):
        return False
    letters = rtl = 0
    for text in texts:
        for char in text:
            if char.isalpha():
                letters += 1
                rtl += not char.isascii() and RTL_RE.match(char) is not None
    return rtl > letters / 2


def _reading_order(words: list[Word]) -> list[Word]:
    """A right-to-left line's words (given left to right) in reading order: from the right,
    with each run of left-to-right words (an English name, numbers between them) kept in its
    own order."""
    directions = [_direction(word.text) for word in words]
    runs: list[tuple[str, list[Word]]] = []
    previous = None
    for index, (word, direction) in enumerate(zip(words, directions, strict=True)):
        if direction is None:
            following = next((d for d in directions[index + 1 :] if d), None)
            direction = "L" if previous == "L" and following == "L" else "R"
        else:
            previous = direction
        if direction == "L" and runs and runs[-1][0] == "L":
            runs[-1][1].append(word)
        else:
            runs.append((direction, [word]))
    return [word for _, run in reversed(runs) for word in run]


def _glued(previous: Word, word: Word) -> bool:
    """Whether two touching words are one: a mark in another size, or punctuation."""
    if previous.text[-1].isdigit() and word.text[0].isdigit():
        return False
    return (
        abs(previous.size - word.size) > 0.1 * max(previous.size, word.size)
        or word.text[0] in CLOSING
        or previous.text[-1] in OPENING
    )
