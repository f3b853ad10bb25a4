"""Running headers, footers and page numbers: text in the page margins that repeats, and
numbers set alone at the top or foot of a page."""

from __future__ import annotations

import re
from collections import Counter

from .geometry import Word
from .lines import group_lines

MARGIN_SHARE = 0.1
NUMBER_ZONE_SHARE = 0.2
# A page number alone outside the margins: up to three digits or a roman numeral (a year set
# alone there is a chart's label).
LONE_NUMBER_RE = re.compile(r"^(\d{1,3}|[ivxlc]{1,6})$", re.IGNORECASE)
PAGE_NUMBER_RE = re.compile(r"^(page\s*)?[\divxlc]{1,5}(\s*(of|/)\s*\d+)?$", re.IGNORECASE)


def _signature(text: str) -> str:
    """Numbers vanish, so page numbers on either side of a header do not tell pages apart."""
    return " ".join(re.sub(r"\d+", " ", text.lower()).split())


def _margin_lines(words: list[Word], page_height: float):
    """The lines in the page's top and bottom tenths, and a page number further in (LaTeX sets
    its numbers a sixth of the page up)."""
    margin = page_height * MARGIN_SHARE
    edge = [w for w in words if w.bottom <= margin or w.top >= page_height - margin]
    return group_lines(edge) + group_lines(_lone_numbers(words, page_height, edge))


def _lone_numbers(words: list[Word], page_height: float, edge: list[Word]) -> list[Word]:
    """A page number outside the margins: the page's last (or first) word, in its bottom (or
    top) fifth, a number alone on its line with a line's height clear between it and the text."""
    if not words:
        return []
    zone = page_height * NUMBER_ZONE_SHARE
    lowest = max(words, key=lambda w: w.bottom)
    highest = min(words, key=lambda w: w.top)
    found: dict[int, Word] = {}
    if (
        lowest.top >= page_height - zone
        and LONE_NUMBER_RE.match(lowest.text)
        and not any(w is not lowest and w.bottom > lowest.top - lowest.height for w in words)
    ):
        found[id(lowest)] = lowest
    if (
        highest.bottom <= zone
        and LONE_NUMBER_RE.match(highest.text)
        and not any(w is not highest and w.top < highest.bottom + highest.height for w in words)
    ):
        found[id(highest)] = highest
    for word in edge:
        found.pop(id(word), None)
    return list(found.values())


def remove_furniture(pages: list[list[Word]], heights: list[float]) -> list[list[Word]]:
    """Drop margin lines seen on a third of the pages at least (two at least), and bare page
    numbers. A long report's charts, maps and full-page tables go without its running header, so
    half the pages was too many (a 65-page report showed its header on 23).

    Numbers are ignored when comparing, so "Page 3 of 9" on every page counts as one repeated line.
    A line repeated on pages that hold nothing else (a label printed on each page, the same page
    turned four ways) is the document's content, not its furniture.
    """
    margin_lines = [_margin_lines(words, h) for words, h in zip(pages, heights, strict=True)]
    seen = Counter(
        signature
        for lines in margin_lines
        for signature in {_signature(line.text) for line in lines}
    )
    needed = max(2, (len(pages) + 2) // 3)

    def furniture(line) -> bool:
        return seen[_signature(line.text)] >= needed or bool(
            PAGE_NUMBER_RE.match(line.text.strip())
        )

    beside_content: set[str] = set()
    for words, lines in zip(pages, margin_lines, strict=True):
        if sum(len(line.words) for line in lines if furniture(line)) < len(words):
            beside_content.update(_signature(line.text) for line in lines)
    cleaned: list[list[Word]] = []
    for words, lines in zip(pages, margin_lines, strict=True):
        drop = {
            id(w)
            for line in lines
            if furniture(line) and _signature(line.text) in beside_content
            for w in line.words
        }
        cleaned.append([w for w in words if id(w) not in drop] if drop else words)
    return cleaned
