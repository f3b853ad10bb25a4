"""The offline engine on real documents (tests/fixtures; no database, no network)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from documents.engines.base import (
    ConversionOptions,
    InvalidPageRange,
    PasswordRequired,
    UnreadableDocument,
    WrongPassword,
)
from documents.engines.local import LocalEngine, ocr, pdf
from tests.conftest import FIXTURES
from tests.documents.engines.made import FIRST_PARAGRAPH, PdfMaker, paragraph_lines

PDF = "application/pdf"


def convert(name: str, mime_type: str = PDF, **options):
    return LocalEngine().convert(FIXTURES / name, mime_type, ConversionOptions(**options))


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


def test_running_headers_of_facing_pages_are_dropped_each_on_its_side(tmp_path):
    """A book sets one running header on its left pages and another on its right: each is on
    half the pages or fewer, and both are furniture."""
    maker = PdfMaker()
    body = paragraph_lines([FIRST_PARAGRAPH], top=120.0)
    for number in range(1, 8):
        header = "Handbook of Harbour Pilotage" if number % 2 else f"Chapter 5 - Tides {number}"
        maker.page([(header, 72.0, 40.0, 9.0, "Helvetica"), *body])
    path = maker.save(tmp_path / "book.pdf")

    result = LocalEngine().convert(path, PDF, ConversionOptions())

    assert [flat(page.markdown) for page in result.pages] == [FIRST_PARAGRAPH] * 7


def test_a_line_repeated_on_pages_that_hold_nothing_else_is_kept(tmp_path):
    """The same words at the top of every page are furniture only beside other content: pages
    that each hold one label (or one line, the page turned four ways) are that label."""
    maker = PdfMaker()
    for _ in range(3):
        maker.page([("Specimen 14 of the herbarium", 72.0, 60.0, 12.0, "Helvetica")])
    path = maker.save(tmp_path / "labels.pdf")

    result = LocalEngine().convert(path, PDF, ConversionOptions())

    assert [flat(page.markdown) for page in result.pages] == ["Specimen 14 of the herbarium"] * 3


def test_a_page_number_set_alone_above_the_margin_is_dropped_and_a_total_under_its_text_kept(
    tmp_path,
):
    """LaTeX sets a page's number a sixth of the page up, below the margins that repeated lines
    are looked for in: alone at the foot, a line's height clear of the text, it is dropped. A
    number right under the text (a sum, a list's last figure) is the text's."""
    maker = PdfMaker()
    body = paragraph_lines([FIRST_PARAGRAPH], top=560.0)
    for number in (1, 2):
        total = ("1,204", 72.0, body[-1][2] + 14.0, 11.0, "Helvetica")
        maker.page([*body, total, (str(number), 300.0, 675.0, 11.0, "Helvetica")])
    path = maker.save(tmp_path / "numbered.pdf")

    result = LocalEngine().convert(path, PDF, ConversionOptions())

    assert [page.markdown.split("\n\n")[-1] for page in result.pages] == ["1,204"] * 2
    assert all(FIRST_PARAGRAPH in flat(page.markdown) for page in result.pages)


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


def heading_levels(markdown: str) -> dict[str, int]:
    return {
        match.group(2).strip(): len(match.group(1))
        for match in re.finditer(r"^(#{1,6}) (.+)$", markdown, re.MULTILINE)
    }


def test_it_takes_heading_levels_from_the_pdf_outline():
    # Bookmarks: "1 Topologische Grundbegriffe" > "1.1 Topologische Räume" on p. 6,
    # "4.2 Weitere Eigenschaften ..." > "4.2.1 Flächeninhalt" on p. 78 (a heading in small type).
    levels = heading_levels(convert("GeoTopo-komprimiert.pdf", pages=(6, 78)).markdown)

    chapter = levels["1 Topologische Grundbegriffe"]
    assert levels["1.1 Topologische Räume"] == chapter + 1
    assert levels["4.2 Weitere Eigenschaften einer euklidischen Ebene"] == chapter + 1
    assert levels["4.2.1 Flächeninhalt"] == chapter + 2


def test_it_reads_a_masthead_over_columns_before_the_columns():
    markdown = flat(convert("federal-register-2020-17221.pdf", pages=(1,)).markdown)

    assert "reference a specific portion of the proposal, explain the reason for any" in markdown
    assert markdown.index("Thursday, August 6, 2020") < markdown.index("This section of the")


def test_it_splits_cells_set_close_to_a_drawn_column_rule():
    markdown = convert("federal-register-2020-17221.pdf", pages=(6,)).markdown

    row = next(line for line in markdown.splitlines() if "Stabilizer wiring change" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "Up to $3,790"
    assert "Up to $3,790" not in cells[1]


def test_it_reads_columns_framed_by_drawn_rules_one_after_the_other():
    markdown = flat(convert("la-precinct-bulletin-2014-p1.pdf").markdown)

    assert markdown.index("TOM LACKEY") < markdown.index("AJ-SUPREME CT-G. LIU")
    assert markdown.index("PJ 2D APP DV7-D. PERLUSS") < markdown.index("AJ 2D APP DV8-L. RUBIN")


def test_it_does_not_take_bold_body_text_for_headings():
    markdown = convert("la-precinct-bulletin-2014-p1.pdf").markdown  # every word is bold

    assert not re.search(r"^#{1,6} .*NEEL KASHKARI", markdown, re.MULTILINE)


def test_it_ocrs_a_picture_of_text_on_a_born_digital_page():
    markdown = flat(convert("federal-register-2020-17221.pdf", pages=(14,)).markdown)

    assert "The SPEED TRIM FAIL light must be operative for dispatch." in markdown
    assert "Dispatch is not permitted with both autopilot systems inoperative." in markdown


def test_pdfium_calls_are_serialised_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    from documents.limits import check_document

    expected = convert("multicolumn.pdf").markdown
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda _: convert("multicolumn.pdf").markdown, range(6)))
        geotopo = FIXTURES / "GeoTopo-komprimiert.pdf"
        counts = list(
            pool.map(
                lambda _: len(check_document(geotopo, "application/pdf", ConversionOptions())),
                range(6),
            )
        )

    assert outputs == [expected] * 6
    assert counts == [117] * 6


def test_conversions_at_once_hold_one_picture_at_a_time(monkeypatch):
    """Three scans converted at once in one process (a worker's seats, the API's threads): a
    page is rendered only when OCR is ready for it, so one bitmap is held at a time, not one per
    conversion waiting its turn."""
    held, most = 0, 0
    counting = threading.Lock()
    render = pdf.OcrJob._render

    def rendering(self, document):
        nonlocal held, most
        rendered = render(self, document)
        with counting:
            held += 1
            most = max(most, held)
        return rendered

    def reading(image, second=None):
        nonlocal held
        time.sleep(0.05)
        with counting:
            held -= 1
        return [], image.shape[:2]

    monkeypatch.setattr(pdf.OcrJob, "_render", rendering)
    monkeypatch.setattr(ocr, "recognize", reading)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: convert("phototest-scan.pdf"), range(3)))

    assert most == 1
