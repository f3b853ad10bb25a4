"""Headings come from a line's font set apart from the body text around it, never from a line
of a paragraph, however that paragraph is set (issue 14)."""

from __future__ import annotations

import re
import textwrap

import pytest

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from fakes import hostile

from .made import (
    FIRST_PARAGRAPH,
    PORTRAIT,
    SECOND_PARAGRAPH,
    PdfMaker,
    flat,
    paragraph_lines,
)

BODY = 10.0


def convert(tmp_path, pages) -> list[str]:
    maker = PdfMaker()
    for lines in pages:
        maker.page(lines)
    path = maker.save(tmp_path / "headings.pdf")
    result = LocalEngine().convert(path, "application/pdf", ConversionOptions())
    return [page.markdown for page in result.pages]


def headings(markdown: str) -> list[str]:
    return re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE)


def body_page():
    return paragraph_lines([FIRST_PARAGRAPH, SECOND_PARAGRAPH], size=BODY)


def test_a_paragraph_set_in_bigger_type_than_the_body_has_no_heading(tmp_path):
    large = paragraph_lines([SECOND_PARAGRAPH], size=BODY * 1.4, width=60)

    pages = convert(tmp_path, [body_page(), body_page(), large])

    assert headings(pages[2]) == []
    assert SECOND_PARAGRAPH in flat(pages[2])


def test_a_bold_paragraph_has_no_heading(tmp_path):
    bold = paragraph_lines([SECOND_PARAGRAPH], size=BODY, font="Helvetica-Bold")

    pages = convert(tmp_path, [body_page(), bold])

    assert headings(pages[1]) == []


def test_a_line_in_bigger_type_inside_a_paragraph_is_no_heading(tmp_path):
    lines = paragraph_lines([SECOND_PARAGRAPH], size=BODY, width=40)
    text, x, top, _size, font = lines[2]
    assert not text.endswith((",", "."))
    lines[2] = (text, x, top, BODY * 1.3, font)

    pages = convert(tmp_path, [body_page(), lines])

    assert headings(pages[1]) == []
    assert flat(pages[1]) == SECOND_PARAGRAPH


def test_a_line_in_bigger_type_above_the_body_is_a_heading(tmp_path):
    title = [("Harbour pilots at work", 72.0, 70.0, BODY * 1.6, "Helvetica-Bold")]

    pages = convert(tmp_path, [title + body_page()])

    assert headings(pages[0]) == ["Harbour pilots at work"]


@pytest.mark.parametrize("leading", [20.0, 16.0], ids=["spaced", "set solid"])
def test_a_heading_wrapped_over_two_lines_stays_one_heading(tmp_path, leading):
    """Set solid, as browsers set a title, the lines' glyph boxes touch."""
    title = "What the harbour pilots record in their logbooks before every crossing"
    lines = [
        (line, 72.0, 50.0 + leading * index, BODY * 1.6, "Helvetica-Bold")
        for index, line in enumerate(textwrap.wrap(title, 45))
    ]

    pages = convert(tmp_path, [lines + body_page()])

    assert headings(pages[0]) == [title]


def test_headings_two_lines_apart_or_set_another_way_stay_apart(tmp_path):
    """Minutes of a meeting: a committee's name centred, two lines below it a title centred over
    two lines, and right under that a side heading at the margin. Three headings, though the
    font's loose glyph boxes leave less than a line between the first two."""
    size, font = BODY * 1.2, "dejavu/DejaVuSans-Bold.ttf"

    def centred(text: str, baseline: float):
        width = PdfMaker()._advances(text + "|", size, font)[-1][1]
        return (text, (PORTRAIT[0] - width) / 2, baseline, size, font)

    lines = [
        centred("Demolition committee", 60.0),
        centred("Minutes of the sitting", 84.0),
        centred("held on the twentieth of June", 98.5),
        ("Members present", 72.0, 113.0, size, font),
    ]
    body = paragraph_lines([FIRST_PARAGRAPH, SECOND_PARAGRAPH], top=140.0, size=BODY)

    pages = convert(tmp_path, [lines + body])

    assert headings(pages[0]) == [
        "Demolition committee",
        "Minutes of the sitting held on the twentieth of June",
        "Members present",
    ]


def test_short_lines_in_a_font_the_document_sets_paragraphs_in_are_no_headings(tmp_path):
    """An agenda: a notice in small print (most of the characters), the items' paragraphs in
    larger type, and an address in that larger type over them. The address is bigger than the
    small print, but its font is a body font: the address is text, not headings."""
    title = ("Board of Education Special Meeting", 72.0, 60.0, 16.0, "Helvetica-Bold")
    address = ["Cupertino Union School District", "1309 S. Mary Avenue", "Sunnyvale, CA 94087"]
    lines = [title]
    lines += [
        (text, 72.0, 90.0 + 13.0 * index, 11.0, "Helvetica") for index, text in enumerate(address)
    ]
    notice = " ".join([FIRST_PARAGRAPH, SECOND_PARAGRAPH] * 2)
    lines += paragraph_lines([notice], top=150.0, size=8.0, width=110)
    lines += paragraph_lines([FIRST_PARAGRAPH], top=300.0, size=11.0)

    pages = convert(tmp_path, [lines])

    assert headings(pages[0]) == ["Board of Education Special Meeting"]
    assert " ".join(address) in flat(pages[0])


def test_labels_set_apart_from_their_values_stay_lines_of_their_own_and_no_heading(tmp_path):
    """An invoice's totals: a label, and its value far to the right; the last line bold."""
    totals = [("Subtotal", "1,482.00", "Helvetica"), ("VAT 20%", "296.40", "Helvetica")]
    totals.append(("Total due", "1,778.40", "Helvetica-Bold"))
    lines = [
        line
        for index, (label, value, font) in enumerate(totals)
        for line in (
            (label, 300.0, 300.0 + 14 * index, BODY, font),
            (value, 480.0, 300.0 + 14 * index, BODY, font),
        )
    ]

    [markdown] = convert(tmp_path, [body_page() + lines])

    assert headings(markdown) == []
    assert [line for line in markdown.splitlines() if line][-3:] == [
        "Subtotal 1,482.00",
        "VAT 20% 296.40",
        "Total due 1,778.40",
    ]


def test_a_bold_label_before_its_value_is_no_heading(tmp_path):
    label = "Invoice number:"
    width = PdfMaker()._advances(label + " ", BODY, "Helvetica-Bold")[-1][1]
    lines = [
        (label, 72.0, 60.0, BODY, "Helvetica-Bold"),
        ("2024-0187", 72.0 + width + 3, 60.0, BODY, "Helvetica"),
    ]

    [markdown] = convert(tmp_path, [lines + body_page()])

    assert headings(markdown) == []
    assert markdown.startswith("Invoice number: 2024-0187")


def test_smaller_lines_set_beside_a_title_stay_out_of_it_and_in_their_order(tmp_path):
    """A letterhead: the title on the left, two small lines on the right within its height."""
    title = "Annual statement"
    beside = ["Prepared by the finance office", "Reviewed by the audit board"]
    lines = [(title, 72.0, 62.0, BODY * 1.8, "Helvetica-Bold")]
    lines += [
        (text, 400.0, 52.0 + 9 * index, BODY * 0.8, "Helvetica")
        for index, text in enumerate(beside)
    ]

    [markdown] = convert(tmp_path, [lines + body_page()])

    assert headings(markdown) == [title]
    text = flat(markdown)
    assert beside[0] in text and beside[1] in text
    assert text.index(beside[0]) < text.index(beside[1]) < text.index(FIRST_PARAGRAPH[:40])


def font_with_stems(name: str, stem_width: int) -> str:
    """A standard font described with the stem width a browser writes: PDFium estimates the
    weight from it (122 makes 610; 45 makes 225) when the font states none."""
    return (
        f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} /FontDescriptor << /Type "
        f"/FontDescriptor /FontName /{name} /Flags 32 /StemV {stem_width} /ItalicAngle 0 "
        "/Ascent 718 /Descent -207 /CapHeight 718 /FontBBox [-166 -225 1000 931] >> >>"
    )


def test_a_quote_in_an_oblique_font_with_wide_stems_is_no_heading_and_a_nameless_one_is(tmp_path):
    """Browsers describe their oblique faces with stems as wide as a bold face's."""
    title, quote = "Harbour pilots at work", "We row together or not at all, said the cox."
    lines = [(title, "F3")]
    lines += [(line, "F1") for line in textwrap.wrap(FIRST_PARAGRAPH, 80)]
    lines += [(quote, "F2")]
    lines += [(line, "F1") for line in textwrap.wrap(SECOND_PARAGRAPH, 80)]
    stream = " ".join(
        f"BT /{font} 10 Tf 72 {700 - 16 * index} Td ({text}) Tj ET"
        for index, (text, font) in enumerate(lines)
    )
    path = tmp_path / "oblique.pdf"
    path.write_bytes(
        hostile.pdf_from_objects(
            [
                "<< /Type /Catalog /Pages 2 0 R >>",
                "<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
                font_with_stems("Helvetica", 45),
                font_with_stems("Helvetica-Oblique", 122),
                font_with_stems("F3", 122),  # a name that says nothing: the weight decides
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
                "<< /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents 7 0 R >>",
                f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
            ]
        )
    )

    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown

    assert headings(markdown) == [title]
    assert quote in markdown


def numbered_sections(sizes: dict[str, float]) -> list:
    """Each heading in its size (bold) over a short paragraph."""
    lines, top = [], 60.0
    for heading, size in sizes.items():
        lines.append((heading, 72.0, top, size, "Helvetica-Bold"))
        top += 24
        for text in textwrap.wrap(FIRST_PARAGRAPH[:150], 80):
            lines.append((text, 72.0, top, BODY, "Helvetica"))
            top += 13
        top += 12
    return lines


def test_numbered_headings_set_alike_nest_by_their_numbers(tmp_path):
    lines = numbered_sections(
        {"1 Scope": 13.0, "1.1 Definitions": 13.0, "1.1.1 Vessel": 13.0, "2 Speed": 13.0}
    )

    [markdown] = convert(tmp_path, [lines])

    assert re.findall(r"^#+ .+$", markdown, re.MULTILINE) == [
        "# 1 Scope",
        "## 1.1 Definitions",
        "### 1.1.1 Vessel",
        "# 2 Speed",
    ]


def test_numbered_headings_whose_type_nests_them_already_nest_once(tmp_path):
    lines = numbered_sections({"1 Scope": 16.0, "1.1 Definitions": 13.0, "2 Speed": 16.0})

    [markdown] = convert(tmp_path, [lines])

    assert re.findall(r"^#+ .+$", markdown, re.MULTILINE) == [
        "# 1 Scope",
        "## 1.1 Definitions",
        "# 2 Speed",
    ]
