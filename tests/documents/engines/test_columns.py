"""Two columns as browsers and typesetters set them: justified text whose spaces widen past a
gap between table cells, and one column starting higher than the other. Each page is made here
(made.py), one property at a time."""

import textwrap

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from tests.documents.engines.made import FIRST_PARAGRAPH, SECOND_PARAGRAPH, PdfMaker, flat

FONT, SIZE, LEADING = "Helvetica", 10.0, 13.0
LEFT, RIGHT, WIDTH = 72.0, 316.0, 200.0  # two columns with a 44-point gutter


def column(paragraph: str, x: float, top: float, *, justify: bool):
    """A paragraph set in a column `WIDTH` wide. Justified, it is set as loosely as a narrow
    justified column is: lines that would fill seven tenths of the width are stretched flush to
    both edges, every space of a line widened alike (to about one em, more than lies between two
    cells of a table row); the last line is set as it is."""
    maker = PdfMaker()
    fill = 0.7 * WIDTH if justify else WIDTH
    wrapped: list[list[tuple[str, float]]] = [[]]
    for word in paragraph.split():
        width = maker._advances(word + " ", SIZE, FONT)[-1][1]
        if wrapped[-1] and sum(w for _, w in wrapped[-1]) + width > fill:
            wrapped.append([])
        wrapped[-1].append((word, width))
    lines = []
    for number, words in enumerate(wrapped):
        baseline = top + number * LEADING
        if not justify or number == len(wrapped) - 1:
            lines.append((" ".join(word for word, _ in words), x, baseline, SIZE, FONT))
            continue
        widened = (WIDTH - sum(w for _, w in words)) / (len(words) - 1)
        left = x
        for word, width in words:
            lines.append((word + " ", left, baseline, SIZE, FONT))
            left += width + widened
    return lines


def markdown_of(tmp_path, lines) -> str:
    maker = PdfMaker()
    maker.page(lines)
    path = maker.save(tmp_path / "columns.pdf")
    return flat(LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown)


def test_justified_columns_are_read_one_after_the_other(tmp_path):
    lines = column(FIRST_PARAGRAPH, LEFT, 100, justify=True) + column(
        SECOND_PARAGRAPH, RIGHT, 100, justify=True
    )
    assert any(text.endswith(" ") for text, *_ in lines), "words are set one by one"

    markdown = markdown_of(tmp_path, lines)

    assert flat(FIRST_PARAGRAPH) + " " + flat(SECOND_PARAGRAPH) in markdown


def test_a_column_starting_higher_than_the_other_is_read_in_its_place(tmp_path):
    """The right column's first line, the end of a sentence carried over, sits higher than the
    left column's heading, close under a line across the page."""
    across = [
        (
            "A long winter closed the port early that year, and the last ferry left.",
            LEFT,
            100,
            SIZE,
            FONT,
        )
    ]
    carried = [("was the last ship of the season.", RIGHT, 125, SIZE, FONT)]
    heading = [("Harbour", LEFT, 146, 16.0, "Helvetica-Bold")]
    lines = (
        across
        + carried
        + heading
        + column(FIRST_PARAGRAPH, LEFT, 166, justify=False)
        + column(SECOND_PARAGRAPH, RIGHT, 125 + LEADING, justify=False)
    )

    markdown = markdown_of(tmp_path, lines)

    assert markdown.index("the last ferry left.") < markdown.index("Harbour")
    assert markdown.index("Harbour") < markdown.index("Harbour pilots guide")
    assert markdown.index(flat(FIRST_PARAGRAPH)[-30:]) < markdown.index("was the last ship")
    assert markdown.index("was the last ship") < markdown.index("Inland, the orchard")


def test_labels_beside_their_entries_are_read_row_by_row(tmp_path):
    """A CV: dates on the left, each level with the first line of its entry on the right, and
    the next section's heading under them."""
    entries = [
        ("March 2019 – present", "Senior engineer, Port of Bristol", FIRST_PARAGRAPH),
        ("June 2014 – March 2019", "Engineer, Severn Ports", SECOND_PARAGRAPH),
        ("May 2012 – June 2014", "Graduate engineer, Coastal Works", "Surveyed sea walls."),
    ]
    lines, top = [], 100.0
    for when, title, description in entries:
        lines.append((when, LEFT, top, SIZE, FONT))
        lines.append((title, 230.0, top, SIZE, "Helvetica-Bold"))
        wrapped = textwrap.wrap(description, 70)
        for number, text in enumerate(wrapped, start=1):
            lines.append((text, 230.0, top + number * LEADING, SIZE, FONT))
        top += (len(wrapped) + 2) * LEADING
    lines.append(("Education", LEFT, top + LEADING, 13.0, "Helvetica-Bold"))

    markdown = markdown_of(tmp_path, lines)

    expected = [f"{when} {title} {flat(description)}" for when, title, description in entries]
    assert markdown == " ".join(expected) + " # Education"
