"""Headings from the PDF's outline (bookmarks): the author's own table of contents.

Each bookmark names a title, a depth and (usually) a page and a height on it. A line of that page
whose text is the title (or the title spread over up to three lines, or the title without its
section number) is a heading of that depth, whatever its font; the nearest one to the bookmark's
height wins when the title occurs more than once. The font rule then only fills in headings the
outline does not list, at the depth whose headings look like them (see `HeadingStyle`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from .geometry import Line

MAX_RUN = 3
PDF_DEST_XYZ = 1
NUMBERING_RE = re.compile(r"^\s*(?:(?:\d+|[ivxlc]+|[a-z])[.)]?)+(?:\s+|$)", re.IGNORECASE)


@dataclass(frozen=True)
class OutlineEntry:
    depth: int
    title: str
    top: float | None = None  # height on the page: PDF user space until placed, then visual

    def placed(self, frame) -> OutlineEntry:
        """The entry with its height in the page's visual frame (y down, after /Rotate)."""
        if self.top is None:
            return self
        _x0, top, _x1, _bottom = frame.box(0.0, self.top, 0.0, self.top)
        return replace(self, top=top)


def read_outline(document) -> dict[int, list[OutlineEntry]]:
    """Bookmarks that point at a page, by page index. Hold `documents.pdfium.lock`."""
    entries: dict[int, list[OutlineEntry]] = {}
    try:
        bookmarks = list(document.get_toc())
    except Exception:  # a damaged outline is no reason to fail the conversion
        return entries
    for bookmark in bookmarks:
        title = " ".join((bookmark.get_title() or "").split())
        dest = bookmark.get_dest()
        if not title or dest is None:
            continue
        index = dest.get_index()
        if index is None or index < 0:
            continue
        top = None
        try:
            mode, view = dest.get_view()
            if mode == PDF_DEST_XYZ and len(view) >= 2 and view[1]:
                top = float(view[1])
        except Exception:
            top = None
        entries.setdefault(index, []).append(OutlineEntry(bookmark.level, title, top))
    return entries


def _key(text: str) -> str:
    """Letters and digits only, case-folded: spacing, dashes and ligatures do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _targets(title: str) -> set[str]:
    keys = {_key(title), _key(NUMBERING_RE.sub("", title, count=1))}
    return {key for key in keys if len(key) >= 2}


def match_outline(
    outlines: list[list[OutlineEntry]], pages_lines: list[list[Line]]
) -> dict[int, int]:
    """Outline depth by `id(line)` for every line that some bookmark names."""
    found: dict[int, int] = {}
    for entries, lines in zip(outlines, pages_lines, strict=True):
        if not entries or not lines:
            continue
        keys = [_key(line.text) for line in lines]
        for entry in entries:
            run = _best_run(entry, lines, keys, found)
            for line in run:
                found[id(line)] = entry.depth
    return found


def _best_run(entry: OutlineEntry, lines: list[Line], keys: list[str], taken) -> list[Line]:
    targets = _targets(entry.title)
    if not targets:
        return []
    candidates: list[list[Line]] = []
    for start in range(len(lines)):
        text = ""
        for end in range(start, min(start + MAX_RUN, len(lines))):
            if id(lines[end]) in taken or not keys[end]:
                break
            text += keys[end]
            if text in targets:
                candidates.append(lines[start : end + 1])
                break
            if not any(target.startswith(text) for target in targets):
                break
    if not candidates:
        return []
    if entry.top is None:
        return candidates[0]
    return min(candidates, key=lambda run: abs(run[0].top - entry.top))
