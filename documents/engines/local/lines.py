"""Group words into lines and lines into the chunks that layout analysis works with."""

from __future__ import annotations

from dataclasses import replace

from .geometry import Line, Word

CHUNK_GAP_EM = 0.8
CELL_GAP_EM = 1.2
# A justified line spreads its words with one space, widened alike: at least this many spaces
# on the line, differing by at most JUSTIFIED_SPREAD_EM, none wider than JUSTIFIED_MAX_GAP_EM.
JUSTIFIED_MIN_SPACES = 3
JUSTIFIED_SPREAD_EM = 0.2
JUSTIFIED_MAX_GAP_EM = 2.0
# Words at most this fraction of a line's largest size, an em of that size or more to one side
# of all its larger words and holding this many letters, are lines of their own
# (`_smaller_beside`).
SMALLER_BESIDE_RATIO = 0.7
SMALLER_BESIDE_GAP_EM = 1.0
SMALLER_BESIDE_MIN_LETTERS = 8
# A letter this many times the size of most words is a drop cap (`group_lines`).
DROP_CAP_RATIO = 2.0
# A footnote's mark: this many characters at most, in type this much smaller than its text.
MARK_MAX_CHARS = 3
MARK_SIZE_RATIO = 0.85


def group_lines(words: list[Word]) -> list[Line]:
    """Words whose vertical middles fall inside one another's extent form a line, left to right.

    A drop cap is set aside first and then joined to the first line beside it
    (`_with_drop_caps`): grouped by its middle, it joined a lower line, or two lines whose
    words then interleaved."""
    initials = _drop_caps(words)
    if not initials:
        return _grouped(words)
    set_aside = {id(initial) for initial in initials}
    return _with_drop_caps(_grouped([w for w in words if id(w) not in set_aside]), initials)


def _drop_caps(words: list[Word]) -> list[Word]:
    """Single letters set at least DROP_CAP_RATIO times the size most words have."""
    letters = [w for w in words if len(w.text) == 1 and w.text.isalpha()]
    if not letters or max(w.size for w in letters) < DROP_CAP_RATIO * min(w.size for w in words):
        return []  # most calls: no letter is that much bigger than the smallest word
    sizes = sorted(word.size for word in words)
    usual = sizes[len(sizes) // 2]
    return [letter for letter in letters if letter.size >= DROP_CAP_RATIO * usual]


def _with_drop_caps(lines: list[Line], initials: list[Word]) -> list[Line]:
    """Join each initial to the first word of the topmost line starting just right of it, of
    two or more level with it; an initial beside fewer lines is grouped as any word is."""
    unplaced = []
    for initial in initials:
        beside = [
            line
            for line in lines
            if initial.x1 - 1 <= line.x0 <= initial.x1 + initial.size
            and initial.top <= (line.top + line.bottom) / 2 <= initial.bottom
        ]
        if len(beside) < 2:
            unplaced.append(initial)
            continue
        first_line = min(beside, key=lambda line: line.top)
        first = first_line.words[0]
        first_line.words[0] = replace(first, text=initial.text + first.text)
        first_line.refresh()
    if not unplaced:
        return lines
    return _grouped([w for line in lines for w in line.words] + unplaced)


def _grouped(words: list[Word]) -> list[Line]:
    lines: list[list[Word]] = []
    top = bottom = middles = 0.0
    for word in sorted(words, key=_middle_then_left):
        middle = (word.top + word.bottom) / 2
        if lines:
            current = lines[-1]
            limit = min(bottom, top + (bottom - top) * 0.8)
            if top <= middle <= limit or abs(middle - middles / len(current)) < 0.3 * (
                word.bottom - word.top
            ):
                current.append(word)
                middles += middle
                if word.bottom > bottom:
                    bottom = word.bottom
                continue
        lines.append([word])
        top, bottom, middles = word.top, word.bottom, middle
    grouped: list[Line] = []
    for line_words in _with_raised_marks(lines):
        line_words.sort(key=_left)
        grouped.extend(_smaller_beside(line_words))
    if len(grouped) > len(lines):
        grouped.sort(key=lambda line: (line.top + line.bottom) / 2)
    return grouped


def _with_raised_marks(lines: list[list[Word]]) -> list[list[Word]]:
    """The lines, each raised mark that sorted into a line of its own put back in the line it
    is raised over: a footnote's number before its text, a note mark after a line's last word.
    Raised higher than a third of the line's height, a mark's middle falls outside the line."""
    kept: list[list[Word]] = []
    for index, words in enumerate(lines):
        if len(words) == 1 and index + 1 < len(lines) and _raised_over(words[0], lines[index + 1]):
            lines[index + 1].append(words[0])
            continue
        kept.append(words)
    return kept


def _raised_over(mark: Word, line: list[Word]) -> bool:
    """Whether `mark` is a short mark in smaller type raised over `line`: its foot inside the
    line's height, and itself within the line or just beyond either end."""
    if len(mark.text) > MARK_MAX_CHARS:
        return False
    size = max(word.size for word in line)
    top = min(word.top for word in line)
    bottom = max(word.bottom for word in line)
    left = min(word.x0 for word in line)
    right = max(word.x1 for word in line)
    return (
        mark.size <= MARK_SIZE_RATIO * size
        and top < mark.bottom < bottom
        and left - size <= mark.x0 <= right + size
    )


def _smaller_beside(words: list[Word]) -> list[Line]:
    """The line these words make, or, when smaller type stands apart to one side of larger type
    (a date or an address set beside a title, several lines of it within the title's height),
    the larger words' line followed by the lines the smaller words make by themselves.

    Taken as one line, the smaller words joined the title, and two of their lines were read
    interleaved word by word. A superscript or a footnote mark touches its word, and a symbol or
    an initial set larger stands within its line, so neither is cut off; nor are a formula's
    indices or a chart's tick labels, which hold few letters.
    """
    sizes = [word.size for word in words]
    largest = max(sizes)
    if min(sizes) > SMALLER_BESIDE_RATIO * largest:
        return [Line(words)]
    smaller = [word for word in words if word.size <= SMALLER_BESIDE_RATIO * largest]
    larger = [word for word in words if word.size > SMALLER_BESIDE_RATIO * largest]
    gap = SMALLER_BESIDE_GAP_EM * largest
    before = smaller[-1].x1 + gap <= larger[0].x0
    after = larger[-1].x1 + gap <= smaller[0].x0
    if not (before or after):
        return [Line(words)]
    if sum(char.isalpha() for word in smaller for char in word.text) < SMALLER_BESIDE_MIN_LETTERS:
        return [Line(words)]
    return [Line(larger), *group_lines(smaller)]


def _left(word: Word) -> float:
    return word.x0


def _middle_then_left(word: Word) -> tuple[float, float]:
    return (word.top + word.bottom) / 2, word.x0


def split_line(line: Line, gap_em: float) -> list[Line]:
    """Cut a line where the space between two words is wider than `gap_em` times the font size
    (a line with no such space is returned itself, not copied)."""
    pieces: list[list[Word]] = [[line.words[0]]]
    for prev, word in zip(line.words, line.words[1:], strict=False):
        if word.x0 - prev.x1 > gap_em * max(min(prev.size, word.size), 1.0):
            pieces.append([word])
        else:
            pieces[-1].append(word)
    if len(pieces) == 1:
        return [line]
    return [Line(piece) for piece in pieces]


def count_pieces(line: Line, gap_em: float) -> int:
    """How many pieces `split_line` cuts the line into (by the same test), without building
    them."""
    count = 1
    for prev, word in zip(line.words, line.words[1:], strict=False):
        if word.x0 - prev.x1 > gap_em * max(min(prev.size, word.size), 1.0):
            count += 1
    return count


def chunks_of(words: list[Word]) -> list[Line]:
    """Line fragments separated by wide gaps: pieces of one column, or cells of a table row.

    The spaces of a justified line stay inside its chunk however wide (a narrow column set flush
    on both sides widens them past a gap between cells): a run of spaces all one width is a
    justified line's, where the gaps between a row's cells follow the cells' widths.
    """
    chunks: list[Line] = []
    for line in group_lines(words):
        if len(line.words) == 1:
            chunks.append(line)
            continue
        size = max(min(w.size for w in line.words), 1.0)
        gaps = [b.x0 - a.x1 for a, b in zip(line.words, line.words[1:], strict=False)]
        if max(gaps) <= CHUNK_GAP_EM * size:
            chunks.append(line)
            continue
        kept = _justified_spaces(gaps, size)
        pieces: list[list[Word]] = [[line.words[0]]]
        for index, word in enumerate(line.words[1:]):
            if gaps[index] > CHUNK_GAP_EM * size and not kept[index]:
                pieces.append([])
            pieces[-1].append(word)
        chunks.extend([line] if len(pieces) == 1 else [Line(piece) for piece in pieces])
    return chunks


def _justified_spaces(gaps: list[float], size: float) -> list[bool]:
    """Which of a line's gaps belong to a run of JUSTIFIED_MIN_SPACES or more gaps of one width
    (within JUSTIFIED_SPREAD_EM), none wider than JUSTIFIED_MAX_GAP_EM."""
    kept = [False] * len(gaps)
    start = 0
    while start < len(gaps):
        low = high = gaps[start]
        end = start + 1
        while end < len(gaps):
            wider, narrower = max(high, gaps[end]), min(low, gaps[end])
            if wider - narrower > JUSTIFIED_SPREAD_EM * size:
                break
            low, high, end = narrower, wider, end + 1
        if end - start >= JUSTIFIED_MIN_SPACES and high <= JUSTIFIED_MAX_GAP_EM * size:
            kept[start:end] = [True] * (end - start)
        start = end
    return kept


def body_size(words: list[Word]) -> float:
    """The font size most characters are set in: the yardstick for headings and gaps.

    Characters are counted per exact size first: a document has a handful of sizes and tens of
    thousands of words, and rounding a float costs more than counting it."""
    exact: dict[float, int] = {}
    for word in words:
        exact[word.size] = exact.get(word.size, 0) + len(word.text)
    weights: dict[float, int] = {}
    for size, count in exact.items():
        key = round(size, 1)
        weights[key] = weights.get(key, 0) + count
    if not weights:
        return 10.0
    return max(weights.items(), key=lambda item: item[1])[0]
