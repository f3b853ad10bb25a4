"""Plain geometry records shared by the text-layer and OCR paths.

Coordinates are in points in the page's *reading* frame: origin at the top-left corner of the page
as a reader sees it (after /Rotate, and turned or unmirrored so that its text runs left to right),
y growing downwards. Keeping one frame for both paths lets the layout and Markdown code ignore
where the words came from and which way the page was set.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True)
class Line:
    """Words that share a baseline and sit close together (one column's line, or a table cell)."""

    words: list[Word]
    x0: float = 0.0
    top: float = 0.0
    x1: float = 0.0
    bottom: float = 0.0
    text: str = ""
    size: float = 0.0
    bold: bool = False
    cells: list[Line] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        words = self.words
        self.x0 = min(w.x0 for w in words)
        self.x1 = max(w.x1 for w in words)
        self.top = min(w.top for w in words)
        self.bottom = max(w.bottom for w in words)
        self.text = join_words(words)
        weights = [len(w.text) for w in words]
        total = sum(weights) or 1
        self.size = sum(w.size * n for w, n in zip(words, weights, strict=True)) / total
        self.bold = sum(n for w, n in zip(words, weights, strict=True) if w.bold) > total / 2

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
    """Join words left to right; right-to-left runs are already in logical order per word."""
    return " ".join(w.text for w in words)
