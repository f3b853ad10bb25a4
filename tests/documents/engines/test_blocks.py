"""Blocks that are not running prose, as a letter, a paper and a manual set them: addresses
aligned to either side, references whose lines hang under their number, and code listings in
a fixed-pitch font. Each page is made here (made.py), one property at a time."""

import textwrap

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from tests.documents.engines.made import FIRST_PARAGRAPH, PdfMaker

FONT, SIZE, LEADING = "Helvetica", 11.0, 14.0


def blocks_of(tmp_path, lines) -> list[str]:
    maker = PdfMaker()
    maker.page(lines)
    path = maker.save(tmp_path / "blocks.pdf")
    markdown = LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown
    return [block for block in markdown.split("\n\n") if block]


def test_an_address_after_a_sender_aligned_right_is_a_block_of_its_own(tmp_path):
    maker = PdfMaker()
    sender = ["Riverside Rowing Club", "The Boathouse, Quay Street", "Bristol BS1 5TX"]
    recipient = ["Ms Helen Carter", "Harbour Office", "Princes Wharf"]
    lines = []
    for index, text in enumerate(sender):
        width = maker._advances(text + "|", SIZE, FONT)[-1][1]
        lines.append((text, 520.0 - width, 80.0 + LEADING * index, SIZE, FONT))
    for index, text in enumerate(recipient, start=len(sender)):
        lines.append((text, 72.0, 80.0 + LEADING * index, SIZE, FONT))
    body = "Thank you for your letter about the use of the slipway during the regatta days."
    lines.append((body, 72.0, 200.0, SIZE, FONT))

    blocks = blocks_of(tmp_path, lines)

    assert blocks.index(" ".join(recipient)) < blocks.index(body)
    assert not any(recipient[0] in block and sender[-1] in block for block in blocks)


def test_each_reference_is_an_item_with_its_lines_hanging_under_its_number(tmp_path):
    references = [
        ["[1] Harbour Authority. Rules for the use of slipways and pontoons,", "revised edition."],
        ["[2] Riverside Rowing Club. Regatta handbook for marshals and", "umpires, 2023."],
    ]
    lines, top = [], 100.0
    for reference in references:
        lines.append((reference[0], 72.0, top, SIZE, FONT))
        lines.append((reference[1], 90.0, top + LEADING, SIZE, FONT))
        top += 2 * LEADING

    blocks = blocks_of(tmp_path, lines)

    assert blocks == [" ".join(reference) for reference in references]


def test_a_line_starting_with_a_citation_runs_on_in_its_paragraph(tmp_path):
    text = ["The scour around bridge piers was first measured by Laursen", "[12] in a flume."]
    lines = [(line, 72.0, 100.0 + LEADING * index, SIZE, FONT) for index, line in enumerate(text)]

    assert blocks_of(tmp_path, lines) == [" ".join(text)]


CODE_SIZE = 10.0
FIRST_PARAGRAPH_LINES = textwrap.wrap(FIRST_PARAGRAPH, 80)
CODE = ["def tide_at(hour):", "    if hour < 6:", '        return "low"', "", '    return "high"']


def test_lines_in_a_fixed_pitch_font_are_a_code_block_indented_as_set(tmp_path):
    """A listing in Courier between paragraphs: fenced, each line kept with its indent (counted
    in the font's character width) and the blank line it leaves."""
    advance = CODE_SIZE * 0.6  # Courier's every character
    lines = [("Harbour pilots read the tide tables twice a day:", 72.0, 80.0, SIZE, FONT)]
    for index, text in enumerate(CODE):
        indent = len(text) - len(text.lstrip())
        if text:
            lines.append(
                (text.lstrip(), 72.0 + indent * advance, 110.0 + 12.0 * index, CODE_SIZE, "Courier")
            )
    lines.append(
        ("The tide tables give the hours for every day of the year.", 72.0, 190.0, SIZE, FONT)
    )

    blocks = blocks_of(tmp_path, lines)

    assert "```\n" + "\n".join(CODE) + "\n```" in "\n\n".join(blocks)


def test_a_letter_typed_wholly_in_a_fixed_pitch_font_is_prose(tmp_path):
    typed = [
        (line, 72.0, 80.0 + 12.0 * index, CODE_SIZE, "Courier")
        for index, line in enumerate(FIRST_PARAGRAPH_LINES)
    ]

    blocks = blocks_of(tmp_path, typed)

    assert blocks == [" ".join(FIRST_PARAGRAPH_LINES)]


def test_a_title_in_bigger_fixed_pitch_type_is_a_heading_not_code(tmp_path):
    lines = [("Tide tables", 72.0, 60.0, 18.0, "Courier")]
    lines += [
        (line, 72.0, 100.0 + 14.0 * i, SIZE, FONT) for i, line in enumerate(FIRST_PARAGRAPH_LINES)
    ]

    blocks = blocks_of(tmp_path, lines)

    assert blocks[0] == "# Tide tables"
