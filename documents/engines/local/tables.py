"""Tables: ruled grids found from vector strokes, and whitespace-aligned columns of text.

Both kinds end as a `Table` of text cells. Rows follow text lines; a line that fills only one or
two cells of a wider table, right under a full row, continues that row (wrapped cell text), which
keeps a multi-line description in the row it belongs to.
"""

from __future__ import annotations

import bisect
import math
import re
import statistics
from dataclasses import dataclass, field

import cv2
import numpy as np

from .geometry import Line, Rule, Word
from .lines import CELL_GAP_EM, group_lines, split_line

SNAP = 2.0
FIGURE_RE = re.compile(r"^[-+−(]?[$€£¥]?\s?\d[\d.,\s]*%?\)?$")
STACKED_RULES_MAX_DISTANCE = 400.0
# A grid's rule joins a rule of its width stacked under or over it only this close (a header
# grid on a table ruled across): further away, it is another table.
GRID_STACK_DISTANCE = 30.0
RASTER_PER_POINT = 2.0
RASTER_MAX_SIDE = 6000.0
# Comparing two strokes' boxes costs about as much as painting and labelling this many pixels.
PIXELS_PER_PAIR = 130
PROSE_CELL_EM = 15.0
FRAME_MIN_LINES_PER_BAND = 6
MIN_COLUMN_GAP_EM = 0.9
# Wider than any word space: where a drawn column rule lies in such a space, the words on either
# side are in two cells (each padded), not one cell's text running over the rule.
PADDED_CELL_GAP_EM = 0.6


@dataclass
class Table:
    rows: list[list[str]]
    x0: float
    top: float
    x1: float
    bottom: float
    words: list[Word] = field(default_factory=list)
    leading: list[Line] = field(default_factory=list)


@dataclass
class RuledAnalysis:
    tables: list[Table]
    column_guides: list[Rule]


def find_ruled_tables(words: list[Word], rules: list[Rule]) -> RuledAnalysis:
    """Tables drawn with strokes, and long vertical strokes that frame page columns instead."""
    tables: list[Table] = []
    guides: list[Rule] = []
    for group in _connected(rules):
        x0 = min(r.x0 for r in group)
        x1 = max(r.x1 for r in group)
        top = min(r.top for r in group)
        bottom = max(r.bottom for r in group)
        if x1 - x0 < 30 or bottom - top < 8:
            continue
        inside = [w for w in words if _inside(w, x0, top, x1, bottom)]
        if not inside:
            continue
        table, frame_guides = _table_from_group(group, inside, words, (x0, top, x1, bottom))
        if table:
            tables.append(table)
        guides.extend(frame_guides)
    return RuledAnalysis(_drop_nested(tables), guides)


def _table_from_group(group, inside, words, bbox):
    x0, top, x1, bottom = bbox
    width = x1 - x0
    h_levels = _levels(
        [(r.top + r.bottom) / 2 for r in group if r.horizontal and _span(r) > 0.3 * width]
    )
    v_rules = [r for r in group if not r.horizontal]
    v_levels = [
        x
        for x in _levels([(r.x0 + r.x1) / 2 for r in v_rules])
        if x0 + SNAP * 2 < x < x1 - SNAP * 2
    ]
    bands = _bands(inside, [top, *h_levels, bottom])
    text_bands = [band for band in bands if band]
    lines_per_band = sum(len(group_lines(b)) for b in text_bands) / max(len(text_bands), 1)
    if lines_per_band >= FRAME_MIN_LINES_PER_BAND and v_levels:
        columns = [x0, *v_levels, x1]
        if all(b - a >= 0.15 * width for a, b in zip(columns, columns[1:], strict=False)):
            return None, [r for r in v_rules if x0 + SNAP < (r.x0 + r.x1) / 2 < x1 - SNAP]
    if len(text_bands) == 1 and 2 <= len(h_levels) <= 3:
        extended = _rows_below(words, x0, x1, bottom, inside)
        if extended:
            inside = inside + extended
            text_bands = [text_bands[0], extended]
    if not v_levels and _reads_like_prose(inside):
        return None, []
    separators = v_levels or whitespace_separators(group_lines(inside))
    drawn = v_rules if v_levels else []
    if not separators:
        return None, []
    leading: list[Line] = []
    while (
        len(text_bands) > 1
        and len(separators) >= 3
        and _is_title_band(text_bands[0])
        and not _divided(text_bands[0], v_rules)
    ):
        leading.extend(group_lines(text_bands.pop(0)))
        top = min(w.top for band in text_bands for w in band) - 1
    rows: list[list[str]] = []
    ruled_rows = len(text_bands) >= 3
    for number, band in enumerate(text_bands):
        band_lines = group_lines(band)
        if number == 0 and len(text_bands) > 1:
            header = _lines_of_header(band_lines, separators, drawn)
            rows.append(merged_row(band_lines[:header], separators, drawn))
            rows.extend(rows_from_lines(band_lines[header:], separators, drawn))
        elif ruled_rows and _one_wrapped_row(band_lines, separators, drawn):
            rows.append(merged_row(band_lines, separators, drawn))
        else:
            rows.extend(rows_from_lines(band_lines, separators, drawn))
    lines = group_lines(inside)
    above, below = _rows_set_on(words, lines, x0, x1, separators)
    if above:
        rows[:0] = rows_from_lines(group_lines(above), separators, drawn)
        top = min(top, min(w.top for w in above) - 1)
    if below:
        rows.extend(rows_from_lines(group_lines(below), separators, drawn))
    inside = above + inside + below
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return None, []
    bottom = max(bottom, max(w.bottom for w in inside))
    return Table(rows, x0, top, x1, bottom, inside, leading), []


def _reads_like_prose(words: list[Word]) -> bool:
    """Rules above and below columns of running text (a masthead, a footnote bar), not a table."""
    chunks = [c for line in group_lines(words) for c in split_line(line, CELL_GAP_EM)]
    widths = sorted((c.x1 - c.x0) / max(c.size, 1.0) for c in chunks)
    return bool(widths) and widths[len(widths) // 2] >= PROSE_CELL_EM


def _is_title_band(band: list[Word]) -> bool:
    """Lines over a wide grid that hold one or two phrases each: a title, not a row."""
    return all(len(split_line(line, CELL_GAP_EM)) <= 2 for line in group_lines(band))


def _one_wrapped_row(lines: list[Line], separators: list[float], drawn: list[Rule]) -> bool:
    """Whether a band of several lines is one row whose longer cells wrap: a column holds one
    line of it while another holds more. A band of several rows (a body ruled only above and
    below) fills every column once a row, or at least twice."""
    if len(lines) < 2:
        return False
    filled = [0] * (len(separators) + 1)
    for line in lines:
        for column, text in enumerate(_cells(line, separators, drawn)):
            filled[column] += bool(text)
    counts = [count for count in filled if count]
    return min(counts) == 1 < max(counts)


def _divided(band: list[Word], v_rules: list[Rule]) -> bool:
    """Whether column rules drawn across the band part its words into three cells or more: a row
    whose cells sit close together (a header of short labels), not a title over the grid (an
    axis through a chart's labels parts them in two)."""
    middle = statistics.median(w.middle for w in band)
    crossing = _rules_across(v_rules, middle)
    return len({_column_of((w.x0 + w.x1) / 2, crossing) for w in band}) >= 3


def _rows_below(words, x0, x1, bottom, taken) -> list[Word]:
    """Unruled body rows under a ruled header: lines below it that stay within its width."""
    taken_ids = {id(w) for w in taken}
    below = [w for w in words if w.top >= bottom - 1 and id(w) not in taken_ids]
    result: list[Word] = []
    last_bottom = bottom
    for line in group_lines(below):
        gap_limit = 3 * max(line.height, 1.0)
        if line.top - last_bottom > gap_limit:
            break
        if line.x0 < x0 - SNAP or line.x1 > x1 + SNAP:
            break
        result.extend(line.words)
        last_bottom = line.bottom
    return result


def _rows_set_on(words, lines: list[Line], x0, x1, separators) -> tuple[list[Word], list[Word]]:
    """Rows of the table set on beyond its drawn part: lines close above it (a header over a
    table ruled only under its rows) and below it (rows shaded in turn end with an unshaded one)
    whose cells, two or more, each start or end where a cell of their column does."""
    edges: dict[int, list[float]] = {}
    for line in lines:
        for chunk in split_line(line, CELL_GAP_EM):
            edges.setdefault(_column_of(chunk.x0, separators), []).extend((chunk.x0, chunk.x1))

    def lines_on(candidates: list[Line], previous: Line, upwards: bool) -> list[Word]:
        found: list[Word] = []
        for line in candidates:
            gap = previous.top - line.bottom if upwards else line.top - previous.bottom
            if gap > previous.height:
                break
            chunks = split_line(line, CELL_GAP_EM)
            columns = [_column_of(chunk.x0, separators) for chunk in chunks]
            if len(chunks) < 2 or len(set(columns)) < len(chunks):
                break
            if not all(
                any(
                    abs(chunk.x0 - x) <= SNAP or abs(chunk.x1 - x) <= SNAP for x in edges.get(c, ())
                )
                for chunk, c in zip(chunks, columns, strict=True)
            ):
                break
            found.extend(line.words)
            previous = line
        return found

    first, last = lines[0], lines[-1]
    within = [w for w in words if x0 - SNAP <= w.x0 and w.x1 <= x1 + SNAP]
    above = group_lines([w for w in within if w.bottom <= first.top + 1])
    below = group_lines([w for w in within if w.top >= last.bottom - 1])
    return lines_on(above[::-1], first, upwards=True), lines_on(below, last, upwards=False)


def _rules_across(rules: list[Rule], y: float) -> list[float]:
    """Where the vertical rules that run across height `y` stand."""
    return [(r.x0 + r.x1) / 2 for r in rules if r.top <= y <= r.bottom]


def _span(rule: Rule) -> float:
    return rule.x1 - rule.x0


def _inside(word: Word, x0, top, x1, bottom) -> bool:
    cx = (word.x0 + word.x1) / 2
    return x0 - 1 <= cx <= x1 + 1 and top - 1 <= word.middle <= bottom + 1


def _levels(values: list[float]) -> list[float]:
    levels: list[float] = []
    for value in sorted(values):
        if levels and value - levels[-1] <= SNAP:
            continue
        levels.append(value)
    return levels


def _bands(words: list[Word], edges: list[float]) -> list[list[Word]]:
    edges = sorted(set(edges))
    bands: list[list[Word]] = [[] for _ in range(len(edges) - 1)]
    for word in words:
        for index in range(len(edges) - 1):
            if word.middle <= edges[index + 1] or index == len(edges) - 2:
                bands[index].append(word)
                break
    return bands


def _connected(rules: list[Rule]) -> list[list[Rule]]:
    """Groups of strokes that touch each other (within a couple of points), or stack.

    Drawings can bring thousands of short strokes to a page, so pairs are not compared there:
    strokes are painted, widened by SNAP, on a half-point raster whose connected components are
    the touching groups; horizontal strokes of the same extent are then bucketed by extent and
    joined to their vertical neighbours (see `_stacked`): a table ruled only across, or shaded
    in bands. A grid (strokes down between its columns too) joins such a rule only within
    GRID_STACK_DISTANCE, so tables of one width stacked on a page under their captions, one of
    them ruled only across, stay apart.

    Strokes whose painted rows neither overlap nor touch cannot touch, so each run of rows is
    painted on a raster of its own: a page's header rule and a table far below it cost two
    small rasters, not the page's. A run of a few strokes over a large area (a table ruled by
    seven lines) has its painted boxes compared pairwise instead, which finds the same groups
    without the raster (see `_touching_groups`).
    """
    if not rules:
        return []
    left = min(r.x0 for r in rules) - SNAP
    top = min(r.top for r in rules) - SNAP
    width = max(r.x1 for r in rules) - left + SNAP
    height = max(r.bottom for r in rules) - top + SNAP
    scale = min(RASTER_PER_POINT, RASTER_MAX_SIDE / max(width, height, 1.0))
    half = SNAP / 2
    painted = [
        (
            math.floor((rule.top - half - top) * scale),
            math.ceil((rule.bottom + half - top) * scale),
            math.floor((rule.x0 - half - left) * scale),
            math.ceil((rule.x1 + half - left) * scale),
        )
        for rule in rules
    ]
    label_of = [0] * len(rules)
    labels_used = 0
    for run in _row_runs(painted):
        row0 = min(painted[i][0] for i in run)
        col0 = min(painted[i][2] for i in run)
        shape = (max(painted[i][1] for i in run) - row0, max(painted[i][3] for i in run) - col0)
        if len(run) * (len(run) - 1) // 2 * PIXELS_PER_PAIR < shape[0] * shape[1]:
            for i, group in _touching_groups(run, painted).items():
                label_of[i] = labels_used + group
            labels_used += len(run)
            continue
        canvas = np.zeros(shape, np.uint8)
        for i in run:
            y0, y1, x0, x1 = painted[i]
            canvas[y0 - row0 : y1 - row0, x0 - col0 : x1 - col0] = 1
        count, labels = cv2.connectedComponents(canvas, connectivity=4)
        for i in run:
            row = int((rules[i].top - top) * scale) - row0
            column = int((rules[i].x0 - left) * scale) - col0
            label_of[i] = labels_used + int(labels[row, column])
        labels_used += count

    parent: dict[int, int] = {}

    def find(label: int) -> int:
        while parent.get(label, label) != label:
            label = parent[label]
        return label

    columns_of: dict[int, set[int]] = {}
    for i, rule in enumerate(rules):
        if not rule.horizontal:
            columns_of.setdefault(label_of[i], set()).add(round(rule.x0 / SNAP))
    ruled_down = {label for label, columns in columns_of.items() if len(columns) > 2}
    extents: dict[tuple[int, int], list[int]] = {}
    for i, rule in enumerate(rules):
        if rule.horizontal:
            extents.setdefault((round(rule.x0 / SNAP), round(rule.x1 / SNAP)), []).append(i)
    tops_of: dict[tuple[int, int], list[float]] = {}
    for key, members in extents.items():
        members.sort(key=lambda i: rules[i].top)
        tops_of[key] = [rules[i].top for i in members]
    for (kx0, kx1), members in extents.items():
        for i in members:
            for dx0, dx1 in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (1, 1), (-1, -1)):
                others = extents.get((kx0 + dx0, kx1 + dx1))
                if not others:
                    continue
                at = bisect.bisect_left(tops_of[kx0 + dx0, kx1 + dx1], rules[i].top)
                for j in others[max(at - 1, 0) : at + 2]:
                    if (
                        j != i
                        and _stacked(rules[i], rules[j])
                        and (
                            abs(rules[i].top - rules[j].top) <= GRID_STACK_DISTANCE
                            or not {label_of[i], label_of[j]} & ruled_down
                        )
                    ):
                        a, b = find(label_of[i]), find(label_of[j])
                        if a != b:
                            parent[a] = b

    groups: dict[int, list[Rule]] = {}
    for i, rule in enumerate(rules):
        groups.setdefault(find(label_of[i]), []).append(rule)
    return [g for g in groups.values() if len(g) >= 2]


def _touching_groups(run: list[int], painted: list[tuple[int, int, int, int]]) -> dict[int, int]:
    """A group number (below len(run)) for each painted box of the run: boxes share one when a
    chain of boxes that overlap or meet edge to edge joins them, as the raster's components
    (4-connected) do."""
    parent = list(range(len(run)))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    for a, i in enumerate(run):
        ay0, ay1, ax0, ax1 = painted[i]
        for b in range(a + 1, len(run)):
            by0, by1, bx0, bx1 = painted[run[b]]
            top, bottom = max(ay0, by0), min(ay1, by1)
            left, right = max(ax0, bx0), min(ax1, bx1)
            if (top < bottom and left <= right) or (left < right and top <= bottom):
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[ra] = rb
    return {i: root(k) for k, i in enumerate(run)}


def _row_runs(painted: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """Indices of painted boxes (first row, row past the last, ...) in runs of overlapping or
    adjacent rows."""
    runs: list[list[int]] = []
    reach = 0
    for i in sorted(range(len(painted)), key=lambda i: painted[i][0]):
        if runs and painted[i][0] <= reach:
            runs[-1].append(i)
            reach = max(reach, painted[i][1])
        else:
            runs.append([i])
            reach = painted[i][1]
    return runs


def _stacked(a: Rule, b: Rule) -> bool:
    """Horizontal rules of equal extent one above the other: a table ruled only across."""
    return (
        a.horizontal
        and b.horizontal
        and abs(a.x0 - b.x0) <= SNAP
        and abs(a.x1 - b.x1) <= SNAP
        and abs(a.top - b.top) < STACKED_RULES_MAX_DISTANCE
    )


def _drop_nested(tables: list[Table]) -> list[Table]:
    kept: list[Table] = []
    for table in sorted(tables, key=lambda t: -(t.x1 - t.x0) * (t.bottom - t.top)):
        if any(
            k.x0 - 1 <= table.x0 and table.x1 <= k.x1 + 1 and k.top - 1 <= table.top <= k.bottom
            for k in kept
        ):
            continue
        kept.append(table)
    return kept


def whitespace_separators(lines: list[Line]) -> list[float]:
    """x positions of vertical white strips crossed by (almost) no word of the given lines."""
    words = [w for line in lines for w in line.words]
    if len(lines) < 2 or not words:
        return []
    left = int(min(w.x0 for w in words)) - 1
    right = int(max(w.x1 for w in words)) + 2
    coverage = np.zeros(right - left + 1, dtype=np.int32)
    for word in words:
        coverage[int(word.x0) - left + 1] += 1
        coverage[int(word.x1) - left] -= 1
    coverage = np.cumsum(coverage)
    allowed = len(lines) // 10
    size = statistics.median(w.size for w in words)
    free = coverage <= allowed
    separators: list[float] = []
    start = None
    for x, is_free in enumerate(free):
        if is_free and start is None:
            start = x
        elif not is_free and start is not None:
            if start > 1 and x - start >= MIN_COLUMN_GAP_EM * size:
                separators.append(left + (start + x) / 2)
            start = None
    return separators


def _column_of(x: float, separators: list[float]) -> int:
    column = 0
    for separator in separators:
        if x > separator:
            column += 1
    return column


def _cells(line: Line, separators: list[float], drawn: list[Rule] | None = None) -> list[str]:
    """The line's text by column; `drawn`: the table's column rules, when it has them.

    Only the column rules drawn across this very line part it: a cell that spans columns has
    none inside it. A run of words that crosses one and has more cells after it is two cells set
    too close (a cell filled up to the rule, then the next one): it is split word by word at the
    rule. So is a crossing run that ends the line when every rule it crosses lies between two of
    its words (cells filled to their rules, each padded): a rule through a word is crossed by
    text overflowing its cell, which is split only where a rule lies in a space wider than a
    word space. Runs across estimated whitespace separators stay whole.
    """
    cells = [""] * (len(separators) + 1)
    chunks = split_line(line, CELL_GAP_EM)
    if drawn:
        middle = (line.top + line.bottom) / 2
        here = _rules_across(drawn, middle)
        last = chunks[-1]
        min_gap_em = PADDED_CELL_GAP_EM if _rule_through_a_word(last, here) else -math.inf
        chunks = [piece for chunk in chunks[:-1] for piece in _split_at(chunk, here)] + _split_at(
            last, here, min_gap_em=min_gap_em
        )
    for chunk in chunks:
        column = _column_of((chunk.x0 + chunk.x1) / 2, separators)
        if chunk.x1 - chunk.x0 > 3 * (chunk.size or 1) and column > _column_of(
            chunk.x0, separators
        ):
            column = _column_of(chunk.x0 + chunk.size, separators)
        cells[column] = f"{cells[column]} {chunk.text}".strip()
    return cells


def _rule_through_a_word(chunk: Line, rules: list[float]) -> bool:
    return any(word.x0 < x < word.x1 for x in rules for word in chunk.words)


def _split_at(chunk: Line, separators: list[float], min_gap_em: float = -math.inf) -> list[Line]:
    """The chunk cut where its words pass into another column (only across a space wider than
    `min_gap_em` times the font size, when given)."""
    first, last = _column_of(chunk.x0, separators), _column_of(chunk.x1, separators)
    if first == last or len(chunk.words) < 2:
        return [chunk]
    pieces: list[list[Word]] = [[]]
    column = _column_of((chunk.words[0].x0 + chunk.words[0].x1) / 2, separators)
    for previous, word in zip([None, *chunk.words], chunk.words, strict=False):
        here = _column_of((word.x0 + word.x1) / 2, separators)
        gap = word.x0 - previous.x1 if previous else 0.0
        if here != column and gap > min_gap_em * max(min(previous.size, word.size), 1.0):
            pieces.append([])
            column = here
        pieces[-1].append(word)
    if len(pieces) == 1:
        return [chunk]
    return [Line(piece) for piece in pieces]


def _lines_of_header(lines: list[Line], separators: list[float], drawn: list[Rule]) -> int:
    """How many of the first band's lines are the header, one row however it wraps: all of
    them, unless rows of figures follow it with no rule drawn under it."""
    for index, line in enumerate(lines[1:], start=1):
        if _figures(_cells(line, separators, drawn)):
            return index
    return len(lines)


def _figures(cells: list[str]) -> bool:
    """A row of figures: most columns filled, mostly with numbers (a label may lead it)."""
    filled = [cell for cell in cells if cell]
    numbers = sum(1 for cell in filled if FIGURE_RE.match(cell))
    return len(filled) >= max(2, 2 * len(cells) / 3) and numbers * 2 >= len(filled)


def merged_row(
    lines: list[Line], separators: list[float], drawn: list[Rule] | None = None
) -> list[str]:
    row = [""] * (len(separators) + 1)
    for line in lines:
        for index, text in enumerate(_cells(line, separators, drawn)):
            if text:
                row[index] = f"{row[index]} {text}".strip()
    return row


def rows_from_lines(
    lines: list[Line], separators: list[float], drawn: list[Rule] | None = None
) -> list[list[str]]:
    rows: list[list[str]] = []
    previous: Line | None = None
    for line in lines:
        cells = _cells(line, separators, drawn)
        filled = sum(1 for c in cells if c)
        if rows and previous is not None and _continues(cells, filled, rows[-1], line, previous):
            for index, text in enumerate(cells):
                if text:
                    rows[-1][index] = f"{rows[-1][index]} {text}".strip()
        else:
            rows.append(cells)
        previous = line
    return rows


def _continues(cells, filled, last_row, line: Line, previous: Line) -> bool:
    """A sparse line tight under a fuller row is wrapped text of that row."""
    columns = len(cells)
    last_filled = sum(1 for c in last_row if c)
    if columns < 3 or filled > max(1, columns // 4) or last_filled < max(2, filled + 1):
        return False
    if line.top - previous.bottom > 0.6 * max(line.height, 1.0):
        return False
    return all(last_row[i] for i, c in enumerate(cells) if c)
