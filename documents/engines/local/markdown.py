"""Turn ordered lines and tables into Markdown: headings, paragraphs, lists and pipe tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .geometry import RTL_RE, Line, Rule, Word, mostly_right_to_left, right_to_left
from .lines import count_pieces
from .tables import Table, merged_row, rows_from_lines, whitespace_separators

HEADING_SIZE_RATIO = 1.15
# A heading's section number: up to two digits a part, then its title's first letter.
SECTION_NUMBER_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+[^\W\d_]")
SET_APART_EM = 3.0
# A heading's second line is at most this many ems below its first (unless the first is as
# wide as a column), and starts at most this many ems right of it (under the title after a
# section number) or left of it (under a first-line indent).
HEADING_LEADING_EM = 1.75
COLUMN_WIDE_EM = 20.0
HANGING_NUMBER_EM = 3.0
INDENT_EM = 2.5
# Items Markdown reads as a list (`(1)` or `a)` are not), and so may nest: a line of another
# kind set further in would read as code. Right-to-left lines start at the right, wherever
# their left end falls.
MARKDOWN_ITEM_RE = re.compile(r"^(- |\d{1,9}[.)] )")
NESTED_LIST_MAX_STEP_EM = 5.0
MAX_HEADING_CHARS = 150
# Fixed-pitch lines are code where less than this share of the text is fixed-pitch; a gap of
# this many line heights between two of them is a blank line of the code.
CODE_MAX_SHARE = 0.5
CODE_BLANK_LINE = 0.5
# A font is a body font when this many lines of paragraphs are set in it.
PROSE_FONT_LINES = 3
BULLETS = "•◦▪‣●○■□➢►–-*·"
BULLET_RE = re.compile(rf"^[{re.escape(BULLETS)}]\s+")
NUMBERED_RE = re.compile(r"^(\d{1,3}[.)]|\(?[a-zA-Z0-9]{1,3}\))\s+")
# `a.`, `iv.` and `[12]` start items only after an item: elsewhere a line may start with an
# initial, the `v.` of a case's name or a citation.
AFTER_ITEM_RE = re.compile(r"^(([a-z]|[ivx]{2,4})\.|\[\d{1,3}\])\s+")
# A line starting this much further left than the one before starts another block: more than
# a paragraph's first line is indented, less than a right-aligned address moves.
BLOCK_SHIFT_EM = 4.0
TERMINAL = (".", "!", "?", ":", ";", "”", '"', "’")
# A letter and a hyphen at the end: a word broken across lines. Searched from three characters
# before the end (`$` may stand before a final newline): searching the whole paragraph at each of
# its lines made joining a long paragraph quadratic (a sixth of converting pdflatex-4-pages).
HYPHENATED_END_RE = re.compile(r"[^\W\d_]-$")


@dataclass
class HeadingStyle:
    """Document-wide heading levels: bigger type, fewer hashes; bold body text comes last
    (unless most of the text is bold: then bold tells nothing).

    With an outline, the lines it names (`outlined`: outline depth by `id(line)`) take their
    depth from it, one `#` for the top depth. Headings that only the font rule finds take the depth
    whose outline headings have the nearest type size (bold body text: one below the deepest);
    type bigger than any outline heading (a document title over chapters) gets `#` and pushes the
    outline's levels one down, so levels stay consistent across the document.

    Without an outline, numbered headings set alike go one level deeper for each part of their
    number beyond the shortest at that level (`1 Scope`, `1.1 Definitions`, `1.1.1 Vessel`);
    where the type already differs by depth, each depth's shortest number is its own.
    """

    body_size: float
    sized_levels: list[float]
    outlined: dict[int, int] = field(default_factory=dict)
    prose: set[int] = field(default_factory=set)
    depth_sizes: dict[int, float] = field(default_factory=dict)
    offset: int = 0
    bold_marks_headings: bool = True
    shortest_numbers: dict[int, int] = field(default_factory=dict)  # parts, by font level
    prose_fonts: list[Line] = field(default_factory=list)  # a line of each paragraph font

    @classmethod
    def from_lines(
        cls,
        lines: list[Line],
        body_size: float,
        outlined: dict[int, int] | None = None,
        prose: set[int] | None = None,
    ) -> HeadingStyle:
        """`prose` holds the `id` of lines that read as part of a paragraph (see
        `lines_in_paragraphs`): their font never makes them headings."""
        outlined = outlined or {}
        prose = prose or set()
        sizes = sorted(
            {
                round(line.size * 2) / 2
                for line in lines
                if line.size >= body_size * HEADING_SIZE_RATIO
                and _heading_text(line.text)
                and id(line) not in prose
            },
            reverse=True,
        )
        style = cls(body_size, sizes[:5], outlined, prose)
        by_font: dict[tuple[float, bool], list[Line]] = {}
        for line in lines:
            if id(line) in prose:
                by_font.setdefault((line.size, line.bold), []).append(line)
        style.prose_fonts = [
            found[0] for found in by_font.values() if len(found) >= PROSE_FONT_LINES
        ]
        bold = sum(len(line.text) for line in lines if line.bold)
        style.bold_marks_headings = bold < 0.5 * sum(len(line.text) for line in lines)
        if not outlined:
            for line in lines:
                parts = _number_parts(line.text)
                level = style._font_level(line) if parts else None
                if level is not None:
                    known = style.shortest_numbers.get(level, parts)
                    style.shortest_numbers[level] = min(known, parts)
        if outlined:
            by_depth: dict[int, list[float]] = {}
            for line in lines:
                if id(line) in outlined:
                    by_depth.setdefault(outlined[id(line)], []).append(line.size)
            style.depth_sizes = {
                depth: sorted(found)[len(found) // 2] for depth, found in by_depth.items()
            }
            largest = max(style.depth_sizes.values())
            style.offset = int(
                any(
                    id(line) not in outlined
                    and line.size > largest * HEADING_SIZE_RATIO
                    and style._font_level(line) is not None
                    for line in lines
                )
            )
        return style

    def level(self, line: Line) -> int | None:
        depth = self.outlined.get(id(line))
        if depth is not None:
            return min(self.offset + depth + 1, 6)
        level = self._font_level(line)
        if level is None:
            return None
        if not self.depth_sizes:
            parts = _number_parts(line.text)
            if not parts:
                return level
            return min(level + parts - self.shortest_numbers.get(level, parts), 6)
        largest = max(self.depth_sizes.values())
        if self.offset and line.size > largest * HEADING_SIZE_RATIO:
            return 1
        if line.size < self.body_size * HEADING_SIZE_RATIO:
            return min(self.offset + max(self.depth_sizes) + 2, 6)
        nearest = min(self.depth_sizes, key=lambda d: (abs(self.depth_sizes[d] - line.size), d))
        return min(self.offset + nearest + 1, 6)

    def _font_level(self, line: Line) -> int | None:
        if id(line) in self.prose or not _heading_text(line.text):
            return None
        if line.size >= self.body_size * HEADING_SIZE_RATIO:
            if self._sets_prose(line):
                return None
            size = round(line.size * 2) / 2
            position = next(
                (i for i, s in enumerate(self.sized_levels) if size >= s - 0.25),
                len(self.sized_levels) - 1,
            )
            return min(position + 1, 6)
        if (
            all(word.bold for word in line.words)  # a bold label before its value is no title
            and self.bold_marks_headings
            and line.size >= self.body_size * 0.9
            and len(line.text) <= 100
            and not _set_apart(line)
        ):
            return min(len(self.sized_levels) + 1, 6)
        return None

    def _sets_prose(self, line: Line) -> bool:
        """Whether the document sets paragraphs in this line's font: then its type is not bigger
        than the body's but a second body's (a notice in small print, the agenda in larger),
        and a short line in it (an address) is a short paragraph."""
        return any(_same_font(font, line) for font in self.prose_fonts)


def _number_parts(text: str) -> int:
    """How many parts the section number opening a heading has (`2.1.3 Tides`: 3), or 0."""
    match = SECTION_NUMBER_RE.match(text)
    return match.group(1).count(".") + 1 if match else 0


def lines_in_paragraphs(items: list) -> set[int]:
    """The `id` of lines of a page that belong to a paragraph, whatever their font.

    A heading is a line whose font sets it apart from the body text around it. So neither of
    these is one: a line in another font inside a paragraph's flow (the line before it runs on
    into it, without ending a sentence, and the lines on both sides share one font, as in a
    paragraph where one line holds a taller symbol or an emphasised phrase), nor a line of a run
    of three or more close lines in one font that holds more text than a heading does (a
    paragraph set in bigger or bolder type).
    """
    lines = [item if isinstance(item, Line) else None for item in items]
    found: set[int] = set()
    run: list[Line] = []

    def close_run() -> None:
        if len(run) >= 3 and sum(len(line.text) for line in run) > MAX_HEADING_CHARS:
            found.update(id(line) for line in run)
        run.clear()

    for index, line in enumerate(lines):
        if line is None:
            close_run()
            continue
        previous = lines[index - 1] if index else None
        following = lines[index + 1] if index + 1 < len(lines) else None
        if (
            previous is not None
            and following is not None
            and _close(previous, line)
            and _close(line, following)
            and _same_font(previous, following)
            and not _same_font(previous, line)
            and not previous.text.rstrip().endswith(TERMINAL)
        ):
            found.add(id(line))
        if run and not (_close(run[-1], line) and _same_font(run[-1], line)):
            close_run()
        run.append(line)
    close_run()
    return found


def _close(upper: Line, lower: Line) -> bool:
    """Two lines set one under the other as a paragraph sets its lines."""
    gap = lower.top - upper.bottom
    height = max(upper.height, lower.height, 1.0)
    return -0.5 * height <= gap <= 0.5 * height and lower.x0 < upper.x1 and upper.x0 < lower.x1


def _same_font(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.12 * max(a.size, b.size, 1.0) and a.bold == b.bold


def _heading_text(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    return (
        2 <= len(text) <= MAX_HEADING_CHARS
        and letters >= 2
        and letters >= len(text) / 3
        and not text.rstrip().endswith((",", "-"))
        and not BULLET_RE.match(text)
    )


def find_text_tables(items: list, rules: list[Rule]) -> list:
    """Replace runs of lines whose cells line up in three or more columns by tables.

    A cell's text wrapped onto a line of its own (`_wrapped_in_run`) stays in the run, so that
    its row joins the rows after it (and `rows_from_lines` puts it back in its cell). The
    page's drawn horizontal `rules` may mark where a header wrapped over lines ends.
    """
    result: list = []
    run: list[Line] = []

    def close_run() -> None:
        table = _table_from_run(run, rules)
        if table:
            result.append(table)
        else:
            result.extend(run)
        run.clear()

    for item in items:
        if isinstance(item, Line) and item.cell_count >= 2 and _adjacent(run, item):
            run.append(item)
            continue
        if isinstance(item, Line) and _wrapped_in_run(run, item):
            run.append(item)
            continue
        close_run()
        if isinstance(item, Line) and item.cell_count >= 2:
            run.append(item)
        else:
            result.append(item)
    close_run()
    return result


def _wrapped_in_run(run: list[Line], line: Line) -> bool:
    """A line of one cell set tight under a row of cells, in from the run's left edge: the rest
    of a cell's text. A line at the left edge may be the prose after the table, and stays out."""
    if not run or line.cell_count > 1:
        return False
    last = run[-1]
    tight = 0 <= line.top - last.bottom < 0.6 * max(line.height, 1.0)
    return tight and line.x0 > min(row.x0 for row in run) + max(line.size, 1.0)


def _header_lines(run: list[Line], rules: list[Rule]) -> int:
    """How many lines at the top of the run stand above a rule drawn under them across the
    table, rows below it: a header whose cells wrap over those lines, one row. 0 when there is
    no such rule, or only one line above it.

    A rule is often drawn in pieces, one under each header cell: pieces at one height count
    together."""
    left = min(line.x0 for line in run)
    right = max(line.x1 for line in run)
    covered: dict[int, float] = {}
    for rule in rules:
        if rule.horizontal and rule.x1 > left and rule.x0 < right:
            height = round((rule.top + rule.bottom) / 2)
            covered[height] = covered.get(height, 0.0) + min(rule.x1, right) - max(rule.x0, left)
    for height in sorted(y for y, width in covered.items() if width >= 0.8 * (right - left)):
        above = sum(1 for line in run if line.bottom <= height + 1)
        below = len(run) - above
        if above and below >= 2 and run[above - 1].bottom <= height + 1 <= run[above].top + 2:
            return above if above > 1 else 0
    return 0


def _adjacent(run: list[Line], line: Line) -> bool:
    if not run:
        return True
    last = run[-1]
    return line.top - last.top >= 0 and line.top - last.bottom < 2.5 * max(last.height, 1)


def _table_from_run(run: list[Line], rules: list[Rule]) -> Table | None:
    if len(run) < 3 or sum(1 for line in run if line.cell_count >= 3) < 2:
        return None
    separators = whitespace_separators(run)
    if len(separators) < 2:
        return None
    header = _header_lines(run, rules)
    rows = [merged_row(run[:header], separators)] if header else []
    rows += rows_from_lines(run[header:], separators)
    if len(rows) < 2:
        return None
    words = [w for line in run for w in line.words]
    return Table(
        rows,
        min(line.x0 for line in run),
        run[0].top,
        max(line.x1 for line in run),
        run[-1].bottom,
        words,
    )


def render_table(table: Table) -> str:
    """A pipe table; columns from the right when most of its letters are right to left."""
    keep = [c for c in range(len(table.rows[0])) if any(row[c] for row in table.rows)]
    if mostly_right_to_left([cell for row in table.rows for cell in row]):
        keep.reverse()
    rows = [[row[c].replace("|", "\\|") for c in keep] for row in table.rows]
    if not keep:
        return ""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(keep)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows[1:])
    return "\n".join(lines)


def fixed_pitch_marks_code(words: list[Word]) -> bool:
    """Whether lines set in a fixed-pitch font are code: only where most of the text is set in
    other fonts (a transcript or a typewritten letter set wholly in Courier is prose)."""
    fixed = sum(len(word.text) for word in words if word.mono)
    return 0 < fixed < CODE_MAX_SHARE * sum(len(word.text) for word in words)


def render_page(items: list, style: HeadingStyle, fixed_pitch_is_code: bool) -> str:
    blocks: list[str] = []
    paragraph: list[Line] = []
    code: list[Line] = []
    list_lefts: list[float] = []  # where the items of each open list level start

    def close_code() -> None:
        if code:
            blocks.append(_code_block(code))
            code.clear()

    def close_paragraph() -> None:
        if paragraph:
            text = _paragraph_text(paragraph)
            if MARKDOWN_ITEM_RE.match(text) and not RTL_RE.search(text):
                text = "    " * _list_depth(list_lefts, paragraph[0]) + text
            else:
                list_lefts.clear()
            blocks.append(text)
            paragraph.clear()

    previous_heading: tuple[int, Line] | None = None
    for item in items:
        if (
            fixed_pitch_is_code
            and not isinstance(item, Table)
            and item.size < style.body_size * HEADING_SIZE_RATIO  # bigger: a title in it
            and all(word.mono for word in item.words)
        ):
            close_paragraph()
            list_lefts.clear()
            previous_heading = None
            code.append(item)
            continue
        close_code()
        if isinstance(item, Table):
            close_paragraph()
            list_lefts.clear()
            previous_heading = None
            table = render_table(item)
            if table:
                blocks.append(table)
            continue
        level = style.level(item)
        if level is not None:
            close_paragraph()
            list_lefts.clear()
            if previous_heading and _continues_heading(previous_heading, level, item):
                blocks[-1] = f"{blocks[-1]} {item.text}"
            else:
                blocks.append("#" * level + " " + item.text)
            previous_heading = (level, item)
            continue
        previous_heading = None
        if paragraph and _starts_new_paragraph(paragraph, item):
            close_paragraph()
        paragraph.append(item)
    close_paragraph()
    close_code()
    return "\n\n".join(block for block in blocks if block.strip())


def _code_block(lines: list[Line]) -> str:
    """Lines in a fixed-pitch font, fenced, each as it is set: its indent and the spaces inside
    it counted in the font's character width, a blank line where the block leaves one."""
    words = [word for line in lines for word in line.words]
    advance = sum(w.x1 - w.x0 for w in words) / max(sum(len(w.text) for w in words), 1) or 1.0
    left = min(line.x0 for line in lines)
    rows: list[str] = []
    previous: Line | None = None
    for line in lines:
        if previous is not None and line.top - previous.bottom > CODE_BLANK_LINE * line.height:
            rows.append("")
        row = ""
        for word in sorted(line.words, key=lambda w: w.x0):
            column = round((word.x0 - left) / advance)
            row += " " * max(column - len(row), 1 if row else 0) + word.text
        rows.append(row)
        previous = line
    fence = "~~~" if any("```" in row for row in rows) else "```"
    return "\n".join([fence, *rows, fence])


def _list_depth(list_lefts: list[float], item: Line) -> int:
    """How deep a list item sits among the items before it: a nested list is set a little
    further in (an item far to the right starts a list of another column)."""
    size = max(item.size, 1.0)
    if list_lefts and item.x0 > list_lefts[-1] + NESTED_LIST_MAX_STEP_EM * size:
        list_lefts.clear()
    while list_lefts and item.x0 < list_lefts[-1] - 0.5 * size:
        list_lefts.pop()
    if not list_lefts or item.x0 > list_lefts[-1] + 0.5 * size:
        list_lefts.append(item.x0)
    return len(list_lefts) - 1


def _continues_heading(previous: tuple[int, Line], level: int, line: Line) -> bool:
    """A heading wrapped over two lines: same level, right below (loose glyph boxes of tightly
    set lines may touch), set the way the first line is, no final punctuation."""
    prev_level, prev_line = previous
    em = max(line.size, prev_line.size, 1.0)
    return (
        prev_level == level
        and -0.25 * line.height <= line.top - prev_line.bottom < 0.8 * line.height
        and _wrapped_below(prev_line, line, em)
        and _aligned_under(prev_line, line, em)
        and not prev_line.text.endswith(TERMINAL)
    )


def _wrapped_below(upper: Line, lower: Line, em: float) -> bool:
    """At a heading's leading; two lines down, only a line as wide as a column runs on, into a
    line no wider. A short line there was ended by choice: a centred title over its subtitle."""
    return lower.top - upper.top <= HEADING_LEADING_EM * em or (
        upper.x1 - upper.x0 >= COLUMN_WIDE_EM * em and lower.x1 <= upper.x1 + em
    )


def _aligned_under(upper: Line, lower: Line, em: float) -> bool:
    """From the first line's left edge (or under its hanging number, or left of its first-line
    indent), centred under it, or flush right with it. A side heading after a centred one, or a
    centred one after a side heading, is another heading."""
    return (
        upper.x0 - INDENT_EM * em <= lower.x0 <= upper.x0 + HANGING_NUMBER_EM * em
        or abs((lower.x0 + lower.x1) - (upper.x0 + upper.x1)) <= 2 * em
        or abs(lower.x1 - upper.x1) <= em
    )


def _starts_new_paragraph(paragraph: list[Line], line: Line) -> bool:
    """Whether `line` starts a new paragraph after `paragraph`'s lines. Lines set right to left
    start at their right edge and end at their left: their edges are read mirrored."""
    last = paragraph[-1]
    first = paragraph[0]
    size = max(last.size, 1.0)
    ends_sentence = last.text.rstrip().endswith(TERMINAL)
    if BULLET_RE.match(line.text) or NUMBERED_RE.match(line.text):
        return True
    if AFTER_ITEM_RE.match(line.text) and _starts_item(first.text):
        return True
    if _set_apart(line) or _set_apart(last):
        return True
    edges = _mirrored_edges if right_to_left(line.words) else _edges
    start, (last_start, last_end) = edges(line)[0], edges(last)
    if line.top < last.top - 1 or start > last_end:
        return ends_sentence or not line.text[:1].islower()
    if line.top - last.bottom > 0.5 * max(last.height, line.height):
        return True
    if abs(line.size - last.size) > 0.12 * size or line.bold != last.bold and len(paragraph) == 1:
        return True
    in_list = _starts_item(first.text)
    if start - last_start > 0.8 * size and not (in_list and start > edges(first)[0]):
        return True
    if last_start - start > BLOCK_SHIFT_EM * size:
        return True
    furthest = max(edges(p)[1] for p in paragraph)
    return ends_sentence and last_end < furthest - 4 * size


def _edges(line: Line) -> tuple[float, float]:
    """Where a line starts and ends, along the way it is read."""
    return line.x0, line.x1


def _mirrored_edges(line: Line) -> tuple[float, float]:
    return -line.x1, -line.x0


def _starts_item(text: str) -> bool:
    return bool(BULLET_RE.match(text) or NUMBERED_RE.match(text) or AFTER_ITEM_RE.match(text))


def _set_apart(line: Line) -> bool:
    """A line whose words stand in two groups far apart, a label and its value (an invoice's
    totals, a form's fields): a line of its own, never joined to the next. The spaces of
    justified lines, even widened after a sentence, stay well under this."""
    return line.cell_count >= 2 and count_pieces(line, SET_APART_EM) >= 2


def _paragraph_text(lines: list[Line]) -> str:
    text = lines[0].text
    for line in lines[1:]:
        following = line.text
        if HYPHENATED_END_RE.search(text, max(len(text) - 3, 0)) and following[:1].islower():
            text = text[:-1] + following
        else:
            text = f"{text} {following}"
    bullet = BULLET_RE.match(text)
    if bullet:
        return "- " + text[bullet.end() :]
    return _escape_start(text)


def _escape_start(text: str) -> str:
    if text.startswith(("#", ">", "+ ", "* ", "- ", "|", "=")):
        return "\\" + text
    return text
