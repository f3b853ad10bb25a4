"""When the bundled recognizer's reading is not good enough, Tesseract reads the text again.

Decided per block of text (a column, a caption), since one page can hold Greek beside Hebrew:
- a block the bundled model read with low confidence is in a script it cannot read, or badly
  printed: Tesseract's script detection names the script and the configured languages of that
  script read it (lines the bundled model did read confidently, such as Latin labels in a Hebrew
  column, keep its reading);
- a block the bundled model read confidently as Latin text, with doubt on a letter that may stand
  for one its alphabet lacks (ø, ß, å, ñ... which it writes as o, B, a, n), is read again when
  OCR_LANGUAGES names a Latin-alphabet language beyond English, and such words are taken from
  Tesseract's reading.
Without Tesseract, or without a configured language for the script found, the bundled reading
stays. Tesseract also confirms the bundled classifier's vote to turn a page upside down when the
page does not read well turned (see ocr.recognize).
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

from .. import tesseract
from .ocr import OcrLine

CONFIDENT = 0.9
DOUBTFUL = 0.8
BUNDLED_SCRIPTS = frozenset((tesseract.LATIN, "Han"))
# OSD's script confidence: 15-60 where it is right, 1-2 where it takes Greek for Latin.
SCRIPT_CERTAIN = 5.0
# Blocks shorter than this many line heights (a page number, a mark) are not worth a second look.
MIN_BLOCK_EXTENT = 4.0
SKELETON = str.maketrans({"ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"})
MARGIN_LINES = 0.5
SAME_BLOCK_GAP_LINES = 1.5
SAME_BLOCK_OVERLAP = 0.3


@dataclass(frozen=True)
class SecondReader:
    languages: tuple[str, ...]

    @classmethod
    def for_languages(cls, configured: tuple[str, ...]) -> SecondReader | None:
        """A reader of the configured languages Tesseract has, or None when it has none."""
        found = tesseract.available(configured)
        return cls(found) if found else None

    @property
    def latin(self) -> tuple[str, ...]:
        """The Latin-alphabet languages, those with letters beyond English first: Tesseract reads
        a word in the first language and asks the others only when unsure, and English would
        read ø as o without a doubt."""
        found = [x for x in self.languages if tesseract.script_of(x) == tesseract.LATIN]
        return tuple(sorted(found, key=lambda x: x in tesseract.PLAIN_LATIN))

    @property
    def expects_letters_beyond_bundled(self) -> bool:
        return any(language not in tesseract.PLAIN_LATIN for language in self.latin)

    def of_script(self, script: str) -> tuple[str, ...]:
        """The configured languages of a script. Not English beside them for the labels such
        text carries: Tesseract then reads words it is unsure of (pointed Hebrew) as English;
        labels the bundled model read confidently are kept from its reading instead."""
        if script == tesseract.LATIN:
            return self.latin
        return tuple(x for x in self.languages if tesseract.script_of(x) == script)

    def upside_down(self, image: np.ndarray) -> bool | None:
        """Whether Tesseract's orientation detection finds the image upside down (None: it cannot
        tell). The bundled classifier takes Hebrew for Latin turned round, so its vote to turn a
        page is checked here."""
        return tesseract.upside_down(_png(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)))

    def improve(self, image: np.ndarray, lines: list[OcrLine]) -> list[OcrLine]:
        """`lines` (in pixels of `image`), with the blocks Tesseract reads better replaced."""
        result: list[OcrLine] = []
        for block in blocks(lines):
            score = confidence(block)
            if _extent(block) < MIN_BLOCK_EXTENT:
                result.extend(block)
            elif score < CONFIDENT:
                result.extend(self._reread(image, block, score))
            elif (
                self.expects_letters_beyond_bundled
                and _latin(block)
                and min(line.doubt for line in block) < DOUBTFUL
            ):
                result.extend(self._restore_letters(image, block))
            else:
                result.extend(block)
        return result

    def _reread(self, image: np.ndarray, block: list[OcrLine], score: float) -> list[OcrLine]:
        """The block read by Tesseract in the script it detects, or when it is unsure of the
        script (short or unusual text: it takes polytonic Greek for Latin), in each configured
        script until one reading is confident, those the bundled model cannot read first (it
        would have read the others). The bundled reading stays unless a reading is more
        confident, or is in a script the bundled model cannot read (its confidence on a script
        it does not know means nothing: it reads pointed Hebrew as Latin at 0.53)."""
        left, top, png = _crop(image, block)
        detected, certainty = tesseract.detect_script(png)
        best, best_score = None, score
        if detected is not None and certainty >= SCRIPT_CERTAIN:
            scripts = [detected]
            if detected not in BUNDLED_SCRIPTS:
                best_score = 0.0
        else:
            found = [tesseract.script_of(x) for x in self.languages]
            scripts = sorted(found, key=lambda script: script in BUNDLED_SCRIPTS)
        for script in dict.fromkeys(scripts):
            languages = self.of_script(script)
            read = tesseract.read_lines(png, languages) if languages else None
            if read and _mean(read) > best_score:
                best, best_score = read, _mean(read)
            if best_score >= CONFIDENT:
                break
        if best is None:
            return block
        kept = [line for line in block if line.score >= CONFIDENT]
        read = [
            OcrLine(
                line.text,
                line.x0 + left,
                line.top + top,
                line.x1 + left,
                line.bottom + top,
                line.confidence,
                by="tesseract",
            )
            for line in best
        ]
        return kept + [line for line in read if not any(_same_place(line, k) for k in kept)]

    def _restore_letters(self, image: np.ndarray, block: list[OcrLine]) -> list[OcrLine]:
        """The bundled reading, with each word Tesseract read as the same word plus letters the
        bundled alphabet lacks (Größe for GroBe, på for pa) taken from Tesseract; the bundled
        model keeps its word spaces and everything else."""
        left, top, png = _crop(image, block)
        read = tesseract.read_lines(png, self.latin)
        if not read:
            return block
        for line in block:
            middle = (line.top + line.bottom) / 2 - top
            found = " ".join(
                other.text for other in read if other.top <= middle <= other.bottom
            ).split()
            line.text = _with_letters(line.text.split(), found)
        return block


def blocks(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Lines grouped into blocks: lines that overlap horizontally and sit close one under the
    other belong together, so two columns side by side are two blocks."""
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            b = lines[j]
            overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
            narrower = min(a.x1 - a.x0, b.x1 - b.x0)
            gap = max(a.top, b.top) - min(a.bottom, b.bottom)
            height = max(a.bottom - a.top, b.bottom - b.top)
            if overlap >= SAME_BLOCK_OVERLAP * narrower and gap <= SAME_BLOCK_GAP_LINES * height:
                parent[root(i)] = root(j)
    grouped: dict[int, list] = {}
    for i, line in enumerate(lines):
        grouped.setdefault(root(i), []).append(line)
    return list(grouped.values())


def _same_place(a: OcrLine, b: OcrLine) -> bool:
    """Two readings of one piece of a line: each one's middle height within the other's box,
    their spans overlapping."""
    return (
        b.top <= (a.top + a.bottom) / 2 <= b.bottom
        and a.top <= (b.top + b.bottom) / 2 <= a.bottom
        and min(a.x1, b.x1) > max(a.x0, b.x0)
    )


def _extent(lines: list[OcrLine]) -> float:
    """How much text a block holds, in line heights of length (a page number holds one or two):
    the bundled reading's length says nothing where it reads no letter of the script."""
    return sum((line.x1 - line.x0) / max(line.bottom - line.top, 1.0) for line in lines)


def confidence(lines: list[OcrLine]) -> float:
    """The recognizer's confidence in the lines, weighted by their characters."""
    weights = [max(len(line.text), 1) for line in lines]
    return sum(line.score * n for line, n in zip(lines, weights, strict=True)) / sum(weights)


def _mean(lines: list[tesseract.TextLine]) -> float:
    weights = [max(len(line.text), 1) for line in lines]
    return sum(line.confidence * n for line, n in zip(lines, weights, strict=True)) / sum(weights)


def _latin(lines: list[OcrLine]) -> bool:
    """Text that is mostly letters of the basic Latin alphabet (not Chinese, not digits)."""
    text = "".join(line.text for line in lines)
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    return letters >= 0.5 * len(text) > 0


def _crop(image: np.ndarray, block: list[OcrLine]) -> tuple[int, int, bytes]:
    """The block's part of the image, with a margin, as grey PNG bytes, and its top-left."""
    height = float(np.median([line.bottom - line.top for line in block]))
    margin = MARGIN_LINES * height
    rows, cols = image.shape[:2]
    left = max(int(min(line.x0 for line in block) - margin), 0)
    top = max(int(min(line.top for line in block) - margin), 0)
    right = min(int(max(line.x1 for line in block) + margin) + 1, cols)
    bottom = min(int(max(line.bottom for line in block) + margin) + 1, rows)
    return left, top, _png(cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_BGR2GRAY))


def _png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def _with_letters(bundled: list[str], other: list[str]) -> str:
    """The bundled words, each replaced by the other reading's word where that one only adds
    letters outside ASCII: aligned on their ASCII skeletons, and no further from the bundled word
    than two edits per such letter (ß read as B is two: ss against B)."""
    matcher = difflib.SequenceMatcher(
        None, [_skeleton(w) for w in bundled], [_skeleton(w) for w in other], autojunk=False
    )
    words = list(bundled)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 - i1 != j2 - j1:
            continue
        for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
            extra = sum(not ch.isascii() for ch in other[j])
            if extra and _distance(_skeleton(bundled[i]), _skeleton(other[j])) <= 2 * extra:
                words[i] = other[j]
    return " ".join(words)


def _skeleton(word: str) -> str:
    """A word in lower-case ASCII: accents dropped, ø → o, ß → ss, æ → ae..."""
    folded = unicodedata.normalize("NFKD", word.lower().translate(SKELETON))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
