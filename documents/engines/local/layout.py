"""Reading order: a recursive XY-cut over line chunks, with tables kept whole.

A region is split at a vertical gutter only when both sides read like prose (long chunks) or a
drawn column rule says so; otherwise it is split into horizontal bands. Neighbouring bands that
share a gutter are cut together, so two columns whose paragraph gaps happen to line up are still
read column by column.
"""

from __future__ import annotations

from .geometry import Line, Rule, Word, mostly_right_to_left
from .lines import CELL_GAP_EM, chunks_of, count_pieces, group_lines
from .tables import Table

Item = Line | Table
GUTTER_EM = 0.6
PROSE_CHUNK_EM = 6.0
RULED_BAND_SHARE = 0.8


def reading_order(
    words: list[Word], tables: list[Table], rules: list[Rule], guides: list[Rule], size: float
) -> list[Item]:
    """Lines (with their cell counts) and tables of a page in the order a person reads them.

    `guides` are drawn column rules; horizontal `rules` separate blocks that must not be merged.
    """
    separators = [r for r in rules if r.horizontal]
    taken = {id(w) for t in tables for w in t.words}
    free = [w for w in words if id(w) not in taken]
    items: list[Item] = [*_split_at_guides(chunks_of(free), guides), *tables]
    if not items:
        return []
    ordered: list[Item] = []
    for leaf in _cut(items, guides, separators, size):
        ordered.extend(_leaf_items(leaf))
    return ordered


def _split_at_guides(chunks: list[Line], guides: list[Rule]) -> list[Line]:
    """Cut chunks that run across a drawn column rule: text on both sides of a rule that frames
    page columns belongs to two columns, however narrow the gap the producer left."""
    if not guides:
        return chunks
    result: list[Line] = []
    for chunk in chunks:
        crossing = sorted(
            (g.x0 + g.x1) / 2
            for g in guides
            if chunk.x0 < (g.x0 + g.x1) / 2 < chunk.x1 and g.top <= chunk.middle <= g.bottom
        )
        if not crossing or len(chunk.words) < 2:
            result.append(chunk)
            continue
        pieces: dict[int, list[Word]] = {}
        for word in chunk.words:
            middle = (word.x0 + word.x1) / 2
            pieces.setdefault(sum(1 for x in crossing if middle > x), []).append(word)
        result.extend(Line(words) for _side, words in sorted(pieces.items()))
    return result


def _leaf_items(items: list[Item]) -> list[Item]:
    tables = [i for i in items if isinstance(i, Table)]
    words = [w for i in items if isinstance(i, Line) for w in i.words]
    words += [w for table in tables for line in table.leading for w in line.words]
    lines = group_lines(words)
    for line in lines:
        line.cell_count = count_pieces(line, CELL_GAP_EM)
    return sorted([*lines, *tables], key=lambda i: i.top)


def _cut(items: list[Item], guides: list[Rule], separators, size: float) -> list[list[Item]]:
    if len(items) <= 1:
        return [items]
    ruled = _ruled_band_cut(items, separators)
    if ruled is not None:
        above = [i for i in items if (i.top + i.bottom) / 2 < ruled]
        below = [i for i in items if (i.top + i.bottom) / 2 >= ruled]
        return _cut(above, guides, separators, size) + _cut(below, guides, separators, size)
    gutter = _vertical_cut(items, guides, size)
    if gutter is not None:
        left = [i for i in items if (i.x0 + i.x1) / 2 < gutter]
        right = [i for i in items if (i.x0 + i.x1) / 2 >= gutter]
        texts = [word.text for item in items if isinstance(item, Line) for word in item.words]
        if mostly_right_to_left(texts):  # columns of Hebrew or Arabic are read from the right
            left, right = right, left
        return _cut(left, guides, separators, size) + _cut(right, guides, separators, size)
    groups = _merge_bands_sharing_gutters(_bands(items), size, separators)
    if len(groups) == 1:
        return [items]
    leaves: list[list[Item]] = []
    for group in groups:
        leaves.extend(_cut(group, guides, separators, size))
    return leaves


def _ruled_band_cut(items: list[Item], separators: list[Rule]) -> float | None:
    """A drawn horizontal rule across (nearly) the whole region that no item straddles.

    Such a rule closes a band (a masthead over columns, a full-width block between two sets of
    columns): what is above it is read before what is below, even when a column gutter runs
    through both.
    """
    left = min(i.x0 for i in items)
    right = max(i.x1 for i in items)
    top = min(i.top for i in items)
    bottom = max(i.bottom for i in items)
    for rule in separators:
        y = (rule.top + rule.bottom) / 2
        if not top < y < bottom or rule.x1 - rule.x0 < RULED_BAND_SHARE * (right - left):
            continue
        if (
            rule.x0 > left + (right - left) * (1 - RULED_BAND_SHARE)
            or rule.x1 < left + (right - left) * RULED_BAND_SHARE
        ):
            continue
        if any(i.top < y - 1 and i.bottom > y + 1 for i in items):
            continue
        if any(i.bottom <= y for i in items) and any(i.top >= y for i in items):
            return y
    return None


def _bands(items: list[Item]) -> list[list[Item]]:
    bands: list[list[Item]] = []
    bottom = float("-inf")
    for item in sorted(items, key=lambda i: i.top):
        if bands and item.top < bottom:
            bands[-1].append(item)
            bottom = max(bottom, item.bottom)
        else:
            bands.append([item])
            bottom = item.bottom
    return bands


def _merge_bands_sharing_gutters(bands, size, separators: list[Rule]) -> list[list[Item]]:
    """Join consecutive bands while some white strip of the first runs through all of them.

    A drawn horizontal rule ends the run, and so does a wide white gap unless the next band has
    text on both sides of the strip (a centred caption under columns belongs to neither column).
    Text on one side only, close above columns, opens them: one column starts higher than the
    other, below a heading's space or with the end of a paragraph carried over.
    """
    merged: list[list[Item]] = []
    gutters: list[tuple[float, float]] = []
    bottom = 0.0
    for band in bands:
        top = min(i.top for i in band)
        if merged and not _ruled_between(separators, bottom, top, merged[-1] + band):
            if gutters:
                open_gutters = _narrowed(gutters, band, size)
                if open_gutters and top - bottom > size and not _spans_gutter(band, open_gutters):
                    open_gutters = []
            elif top - bottom <= size:
                open_gutters = _narrowed(_gaps(band, size), merged[-1], size)
            else:
                open_gutters = []
            if open_gutters:
                merged[-1].extend(band)
                gutters = open_gutters
                bottom = max(bottom, max(i.bottom for i in band))
                continue
        merged.append(list(band))
        gutters = _gaps(band, size)
        bottom = max(i.bottom for i in band)
    return merged


def _ruled_between(separators: list[Rule], bottom: float, top: float, items: list[Item]) -> bool:
    left = min(i.x0 for i in items)
    right = max(i.x1 for i in items)
    return any(
        bottom - 1 <= rule.top
        and rule.bottom <= top + 1
        and rule.x1 - rule.x0 > 0.5 * (right - left)
        for rule in separators
    )


def _spans_gutter(band: list[Item], gutters) -> bool:
    return any(
        any(i.x1 <= x0 for i in band) and any(i.x0 >= x1 for i in band) for x0, x1 in gutters
    )


def _narrowed(gutters, items: list[Item], size: float) -> list[tuple[float, float]]:
    """The parts of the gutters that the items leave white, if still wide enough."""
    result: list[tuple[float, float]] = []
    for x0, x1 in gutters:
        pieces = [(x0, x1)]
        for item in items:
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, item.x0)), (max(a, item.x1), b))
                if part[1] - part[0] > 0
            ]
        result.extend(p for p in pieces if p[1] - p[0] >= GUTTER_EM * size)
    return result


def _gaps(items: list[Item], size: float) -> list[tuple[float, float]]:
    spans = sorted((i.x0, i.x1) for i in items)
    gaps: list[tuple[float, float]] = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= GUTTER_EM * size:
            gaps.append((reach, x0))
        reach = max(reach, x1)
    return gaps


def _vertical_cut(items: list[Item], guides: list[Rule], size: float) -> float | None:
    forced = _ruled_gutter(items, guides)
    if forced is not None:
        return forced
    gutters = _prose_gutters(items, size)
    if not gutters:
        return None
    x0, x1 = max(gutters, key=lambda g: g[1] - g[0])
    return (x0 + x1) / 2


def _ruled_gutter(items: list[Item], guides: list[Rule]) -> float | None:
    top = min(i.top for i in items)
    bottom = max(i.bottom for i in items)
    left = min(i.x0 for i in items)
    right = max(i.x1 for i in items)
    for rule in guides:
        x = (rule.x0 + rule.x1) / 2
        if not left < x < right:
            continue
        overlap = min(rule.bottom, bottom) - max(rule.top, top)
        if overlap < 0.5 * (bottom - top):
            continue
        if not any(i.x0 < x < i.x1 for i in items):
            return x
    return None


def _prose_gutters(items: list[Item], size: float) -> list[tuple[float, float]]:
    """White vertical strips through the whole region with prose-like text on both sides, that
    do not run between labels and what they label."""
    gutters = []
    for gap in _gaps(items, size):
        x = (gap[0] + gap[1]) / 2
        if _prose_on_both_sides(items, x, size) and not _labelled_entries(items, x, size):
            gutters.append(gap)
    return gutters


def _labelled_entries(items: list[Item], x: float, size: float) -> bool:
    """Whether the left of `x` holds labels set level with the start of entries on the right,
    white space between them where the entries run on: a CV's dates, a report's side headings.
    Read as a column, every label came before every entry; each label belongs to its row.

    Two columns of prose differ: the left one's lines follow each other a line apart. A label
    may stand alone (the next section's heading) as long as most are level with an entry.
    """
    left = sorted((i for i in items if i.x1 <= x), key=lambda i: i.top)
    right_tops = [i.top for i in items if i.x0 >= x]
    if len(left) < 2:
        return False
    level = sum(any(abs(top - label.top) < 0.5 * size for top in right_tops) for label in left)
    apart = all(b.top - a.bottom > 1.5 * size for a, b in zip(left, left[1:], strict=False))
    return apart and level >= max(2, len(left) / 2)


def _prose_on_both_sides(items: list[Item], x: float, size: float) -> bool:
    """Whether each side holds prose, or a table (two tables side by side are read left, then
    right)."""
    for side in (
        [i for i in items if i.x1 <= x],
        [i for i in items if i.x0 >= x],
    ):
        if any(isinstance(i, Table) for i in side):
            continue
        if len(side) < 2:
            return False
        mean_width = sum(i.x1 - i.x0 for i in side) / len(side)
        if mean_width < PROSE_CHUNK_EM * size:
            return False
    return True
