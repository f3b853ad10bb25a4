"""The offline engine on real documents from the shared corpus (no database, no network)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from documents.engines.base import (
    ConversionOptions,
    InvalidPageRange,
    PasswordRequired,
    UnreadableDocument,
    WrongPassword,
)
from documents.engines.local import LocalEngine

CORPUS = Path(
    os.environ.get("ILIOS_CORPUS", Path(__file__).resolve().parents[3].parent / "shared" / "corpus")
)
PDF = "application/pdf"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")


def convert(name: str, mime_type: str = PDF, **options):
    return LocalEngine().convert(CORPUS / name, mime_type, ConversionOptions(**options))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_it_reads_two_columns_in_order():
    markdown = flat(convert("multicolumn.pdf", pages=(1,)).markdown)

    end_of_left_column = markdown.index("Pellentesque cursus luctus mauris.")
    start_of_right_column = markdown.index("Fusce mauris. Vestibulum luctus nibh at lectus.")
    assert end_of_left_column < start_of_right_column
    assert "Vivamus viverra fermentum felis. Donec nonummy pellentesque ante." in markdown


def test_it_undoes_end_of_line_hyphenation():
    markdown = convert("multicolumn.pdf", pages=(1,)).markdown

    assert "consectetuer adipiscing elit" in flat(markdown)


def test_it_turns_a_ruled_table_into_a_pipe_table_with_one_row_per_state():
    markdown = convert("nics-background-checks-2015-11.pdf").markdown

    kentucky = next(line for line in markdown.splitlines() if line.startswith("| Kentucky |"))
    cells = [cell.strip() for cell in kentucky.strip("|").split("|")]
    assert "264,140" in cells
    assert "295,891" in cells
    assert re.search(r"^\|(\s*-+\s*\|)+$", markdown, re.MULTILINE)


def test_it_keeps_a_multi_line_cell_in_its_row():
    markdown = convert("senate-expenditures.pdf").markdown

    row = next(line for line in markdown.splitlines() if "DHAW20190004" in line)
    assert "AIRFARE FOR K FORD 3/21 WASHINGTON DC TO SAINT LOUIS" in row


def test_it_marks_headings_from_font_size():
    markdown = convert("google-doc-document.pdf").markdown

    assert re.search(r"^#{1,6} Example document$", markdown, re.MULTILINE)
    assert not re.search(r"^#{1,6} Beautiful is better than ugly", markdown, re.MULTILINE)


def test_it_reads_a_page_turned_on_its_side_in_order():
    result = convert("phototest-rotated-R.png", "image/png")
    text = flat(result.markdown)

    first = text.index("This is a lot of 12 point text to test the")
    second = text.index("ocr code and see if it works on all types")
    assert first < second < text.index("The quick brown dog jumped over the lazy fox.")
    assert [page.index for page in result.pages] == [0]


def test_it_drops_a_running_header_repeated_on_every_page():
    result = convert("federal-register-2020-17221.pdf", pages=(2, 3))

    assert len(result.pages) == 2
    assert all("Federal Register / Vol. 85" not in page.markdown for page in result.pages)
    assert "Investigation of the accident" in flat(result.markdown)


def test_it_asks_for_a_password_when_the_pdf_is_encrypted():
    with pytest.raises(PasswordRequired):
        convert("password-example.pdf")


def test_it_rejects_a_wrong_password():
    with pytest.raises(WrongPassword):
        convert("password-example.pdf", password="not-the-password")


def test_it_opens_an_encrypted_pdf_with_the_right_password():
    result = convert("password-example.pdf", password="test")

    assert result.pages
    assert result.markdown.strip()


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("empty.pdf", "empty"),
        ("unreadablemetadata.pdf", "not a readable PDF"),
        ("truncated-nics.pdf", "not a readable PDF"),
    ],
)
def test_it_refuses_a_corrupt_file_and_says_why(name, cause):
    with pytest.raises(UnreadableDocument, match=cause):
        convert(name)


def test_it_converts_only_the_selected_pages():
    result = convert("pdflatex-4-pages.pdf", pages=(2, 4))

    assert [page.index for page in result.pages] == [1, 3]
    assert "how the letters are written" in flat(result.pages[0].markdown)
    assert result.model.startswith("ilios-local")


def test_it_rejects_a_page_past_the_end():
    with pytest.raises(InvalidPageRange):
        convert("minimal-document.pdf", pages=(2,))


def test_it_ocrs_a_text_layer_when_asked_to():
    result = convert("minimal-document.pdf", force_ocr=True)

    assert "Lorem ipsum dolor sit amet" in flat(result.markdown)
