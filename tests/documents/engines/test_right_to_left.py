"""Lines of Hebrew set right to left, as a browser prints them: each word's glyphs stored in
visual order, the words placed from the right margin leftwards. Read in logical order: words
from the right, an English name inside kept in its own order; an English line holding one
Hebrew word stays an English line."""

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from tests.documents.engines.made import DISC, PdfMaker, grid

FONT, SIZE, SPACE = "dejavu/DejaVuSans.ttf", 12.0, 4.0


def hebrew(word: str) -> bool:
    return any("\u0590" <= char <= "\u05ff" for char in word)


def width(maker: PdfMaker, text: str) -> float:
    """Where a bar set after `text` starts (PDFium may hand a right-to-left word's glyphs back
    in reading order, so the bar is looked for, not taken last)."""
    return next(x for char, x in maker._advances(text + "|", SIZE, FONT) if char == "|")


def visual_line(words: list[str], right: float, baseline: float, maker: PdfMaker) -> list:
    """Words in reading order, set from `right` leftwards; a right-to-left word's glyphs are
    stored as they are seen, last letter first, and a run of other words reads left to right."""
    runs: list[list[str]] = []
    for word in words:
        if runs and not hebrew(word) and not hebrew(runs[-1][-1]):
            runs[-1].append(word)
        else:
            runs.append([word])
    lines, x = [], right
    for run in runs:
        seen = [word[::-1] if hebrew(word) else word for word in run]
        widths = [width(maker, word) for word in seen]
        x -= sum(widths) + SPACE * (len(run) - 1)
        start = x
        for word, advance in zip(seen, widths, strict=True):
            lines.append((word, start, baseline, SIZE, FONT))
            start += advance + SPACE
        x -= SPACE
    return lines


def markdown_of(tmp_path, maker: PdfMaker, lines, shapes=()) -> list[str]:
    maker.page(lines, shapes=shapes)
    path = maker.save(tmp_path / "rtl.pdf")
    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown
    return [block for block in markdown.split("\n\n") if block]


def test_a_hebrew_line_is_read_from_the_right(tmp_path):
    maker = PdfMaker()
    sentence = ["בשנת", "2024", "עברו", "בנמל", "1,250", "אוניות"]

    blocks = markdown_of(tmp_path, maker, visual_line(sentence, 520.0, 100.0, maker))

    assert blocks == [" ".join(sentence)]


def test_an_english_name_in_a_hebrew_line_keeps_its_order(tmp_path):
    maker = PdfMaker()
    sentence = ["הדוח", "המלא", "זמין", "באתר", "Port", "Authority"]

    blocks = markdown_of(tmp_path, maker, visual_line(sentence, 520.0, 100.0, maker))

    assert blocks == [" ".join(sentence)]


def test_an_english_line_with_a_hebrew_word_reads_left_to_right(tmp_path):
    maker = PdfMaker()
    words = ["The", "word", "שלום", "means", "peace", "in", "Hebrew."]
    lines, x = [], 72.0
    for word in words:
        seen = word[::-1] if hebrew(word) else word
        lines.append((seen, x, 100.0, SIZE, FONT))
        x += width(maker, seen) + SPACE

    blocks = markdown_of(tmp_path, maker, lines)

    assert blocks == [" ".join(words)]


def test_a_list_set_right_to_left_keeps_its_drawn_bullets(tmp_path):
    """Browsers draw each bullet as a disc, right of its item in a right-to-left list."""
    maker = PdfMaker()
    items = [["מעגן", "חדש", "נפתח"], ["שני", "נתבים", "חדשים"]]
    lines, shapes = [], []
    for index, item in enumerate(items):
        baseline = 100.0 + 20 * index
        lines += visual_line(item, 500.0, baseline, maker)
        shapes.append((DISC, 508.0, baseline - 6.0, 4.0, 4.0))
    maker.page(lines, shapes=shapes)
    path = maker.save(tmp_path / "rtl-list.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert [block for block in markdown.split("\n\n") if block] == [
        "- " + " ".join(item) for item in items
    ]


def test_a_table_set_right_to_left_is_read_from_its_rightmost_column(tmp_path):
    """Cells of one word each, the columns ordered from the right as the page is."""
    rows = [["שנה", "אוניות", "נמל"], ["2024", "820", "חיפה"], ["2024", "640", "אשדוד"]]
    seen = [[cell[::-1] if hebrew(cell) else cell for cell in row] for row in rows]
    lines, shapes = grid(seen, widths=[80, 80, 80], left=200, font=FONT, size=SIZE)
    maker = PdfMaker()

    blocks = markdown_of(tmp_path, maker, lines, shapes)

    assert blocks == [
        "| נמל | אוניות | שנה |\n|---|---|---|\n| חיפה | 820 | 2024 |\n| אשדוד | 640 | 2024 |"
    ]


def test_hebrew_columns_are_read_from_the_right_each_paragraph_whole(tmp_path):
    """Two columns, each a paragraph of lines set flush right, the last line short."""
    words = [
        "המעגן",
        "החדש",
        "נפתח",
        "באפריל",
        "לאחר",
        "שנתיים",
        "של",
        "עבודה",
        "והנוסעים",
        "הראשונים",
        "התקבלו",
        "בטקס",
        "קצר",
    ]
    first, second = ["ראשונה:", *words], ["שנייה:", *words[::-1]]
    maker = PdfMaker()
    lines = []
    for paragraph, right in ((first, 540.0), (second, 290.0)):
        for row, start in enumerate(range(0, len(paragraph), 5)):
            lines += visual_line(paragraph[start : start + 5], right, 100.0 + 16 * row, maker)

    blocks = markdown_of(tmp_path, maker, lines)

    assert blocks == [" ".join(first), " ".join(second)]
