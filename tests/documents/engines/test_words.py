"""How a line's words join into text: a footnote mark or an exponent set in smaller type right
after its word, and the punctuation after it in the body font, join without spaces; a mark
after a number stays apart, so that a figure keeps its value."""

import pytest

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from documents.engines.local.geometry import Word, join_words
from tests.documents.engines.made import (
    FIRST_PARAGRAPH,
    SECOND_PARAGRAPH,
    PdfMaker,
    flat,
    paragraph_lines,
)

FONT, SIZE, MARK = "Helvetica", 11.0, 7.0
GAP = 0.3  # points between two text objects set one after the other, as a browser sets them


def set_touching(parts, x=72.0, baseline=400.0):
    """Text objects set one right after another, each (text, size, raised by)."""
    maker, lines = PdfMaker(), []
    for text, size, raised in parts:
        lines.append((text, x, baseline - raised, size, FONT))
        x += maker._advances(text + "|", size, FONT)[-1][1] + GAP
    return lines


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            [("in the last century", SIZE, 0), ("1", MARK, 4), (", and then", SIZE, 0)],
            "in the last century1, and then",
        ),
        (
            [("an area of 12 km", SIZE, 0), ("2", MARK, 4), (" in all", SIZE, 0)],
            "an area of 12 km2 in all",
        ),
    ],
    ids=["footnote mark", "exponent"],
)
def test_a_raised_mark_and_the_punctuation_after_it_join_its_word(tmp_path, parts, expected):
    maker = PdfMaker()
    maker.page(paragraph_lines([FIRST_PARAGRAPH]) + set_touching(parts))
    path = maker.save(tmp_path / "marks.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert expected in flat(markdown)


def test_a_mark_touching_a_number_stays_apart_from_it():
    """As a browser sets a footnote mark after a figure in a table: two words that touch."""
    figure = Word("273,879,750", 100.0, 200.0, 160.0, 212.0, SIZE)
    mark = Word("1", 160.1, 198.0, 164.0, 206.0, MARK)

    assert join_words([figure, mark]) == "273,879,750 1"
    assert join_words([Word("km", 146.0, 200.0, 160.0, 212.0, SIZE), mark]) == "km1"


def test_a_footnote_keeps_its_raised_number_at_its_start(tmp_path):
    note = "Late payment bears interest at the statutory rate."
    maker = PdfMaker()
    maker.page(
        paragraph_lines([FIRST_PARAGRAPH])
        + set_touching([("1", 9.0, 5.5), (" " + note, SIZE, 0)], baseline=400.0)
    )
    path = maker.save(tmp_path / "footnote.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert markdown.splitlines()[-1] == f"1 {note}"


def test_a_drop_cap_starts_the_first_word_of_its_paragraph(tmp_path):
    """The initial set three lines tall beside the paragraph's first lines, as a float."""
    text = [
        "o vessel shall exceed six knots within the harbour limits,",
        "except a vessel of the harbour authority on duty or a",
        "lifeboat on service. The harbour master may set a lower",
        "limit in any part of the harbour, and shall publish it.",
    ]
    lines = [("N", 72.0, 126.0, 36.0, FONT)]
    lines += [
        (line, 104.0 if index < 3 else 72.0, 100.0 + 14 * index, SIZE, FONT)
        for index, line in enumerate(text)
    ]
    maker = PdfMaker()
    maker.page(lines)
    path = maker.save(tmp_path / "drop-cap.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert markdown.strip() == "N" + " ".join(text)


def test_a_note_mark_raised_after_a_paragraphs_last_word_stays_on_its_line(tmp_path):
    """Set two points after the word, raised by half its height, as a browser sets `<sup>`."""
    last = "as the rules require."
    maker = PdfMaker()
    end = 72.0 + maker._advances(last + "|", SIZE, FONT)[-1][1]
    maker.page(
        paragraph_lines([FIRST_PARAGRAPH], top=100.0, size=SIZE)
        + [(last, 72.0, 300.0, SIZE, FONT), ("2", end + 2, 294.5, 9.0, FONT)]
    )
    path = maker.save(tmp_path / "note-mark.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    blocks = [block for block in markdown.split("\n\n") if block]
    assert blocks[-1] == f"{last} 2"


def test_a_page_drawn_twice_over_itself_reads_once(tmp_path):
    """Some producers draw a page's text a second time in place (PDFium drops a copy only when
    it follows its original closely): each word is read once, not "the the"."""
    body = paragraph_lines([FIRST_PARAGRAPH, SECOND_PARAGRAPH])
    maker = PdfMaker()
    maker.page(body + body)
    path = maker.save(tmp_path / "twice.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert flat(markdown) == f"{FIRST_PARAGRAPH} {SECOND_PARAGRAPH}"


def test_a_title_drawn_again_a_little_to_the_right_reads_once_as_bold(tmp_path):
    """A producer without a bold face draws a title twice, the second a third of a point to the
    right: one title, in bold, a heading over body text of its size."""
    title = ("Harbour pilots and their logbooks", 72.0, 60.0, SIZE, FONT)
    body = paragraph_lines([FIRST_PARAGRAPH, SECOND_PARAGRAPH])
    maker = PdfMaker()
    maker.page([title, *body, (title[0], title[1] + 0.3, *title[2:])])
    path = maker.save(tmp_path / "thickened.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert markdown.startswith("# Harbour pilots and their logbooks\n\nHarbour pilots guide")


def test_copies_drawn_a_little_lower_read_once_wherever_the_lines_stand(tmp_path):
    """Sixteen lines, each drawn again 0.6 points lower and 0.3 to the right after all of them,
    their tops half a point apart in the page's 8-point bands: every line reads once."""
    lines = [(f"Berth {n} clear", 72.0, 100.0 + 20.5 * n, SIZE, FONT) for n in range(16)]
    copies = [
        (text, x + 0.3, baseline + 0.6, size, font) for text, x, baseline, size, font in lines
    ]
    maker = PdfMaker()
    maker.page(lines + copies)
    path = maker.save(tmp_path / "copies.pdf")

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert [
        flat(block).removeprefix("# ").removeprefix("## ") for block in markdown.split("\n\n")
    ] == [f"Berth {n} clear" for n in range(16)]
