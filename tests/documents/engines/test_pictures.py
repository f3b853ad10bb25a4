"""Pictures of text inside born-digital pages: read when a document has a few, read on a budget
when it is made of them, so conversion stays close to the speed of its text layer (issue 14)."""

from __future__ import annotations

import cv2
import numpy as np

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine, ocr

from .made import PdfMaker, flat, text_picture, word_recall

FONT = "dejavu/DejaVuSans.ttf"
NOTICE = [
    "Dispatch is not permitted with both autopilot systems inoperative.",
    "The speed trim function must be operative for dispatch.",
    "Both control wheel trim switch systems must be operative.",
]
BODY = "This page holds a figure that the text layer does not repeat."


def convert(tmp_path, pages) -> list[str]:
    maker = PdfMaker()
    for pictures in pages:
        maker.page([(BODY, 72.0, 700.0, 11.0, "Helvetica")], pictures=pictures)
    path = maker.save(tmp_path / "pictures.pdf")
    result = LocalEngine("eng").convert(path, "application/pdf", ConversionOptions())
    return [page.markdown for page in result.pages]


def test_a_picture_of_text_on_a_born_digital_page_is_read(tmp_path):
    picture = text_picture(NOTICE, FONT)

    [page] = convert(tmp_path, [[(picture, 72.0, 120.0, 450.0)]])

    assert BODY in flat(page)
    assert word_recall(" ".join(NOTICE), page) >= 0.95


def test_a_document_made_of_pictures_of_text_reads_its_first_pictures_only(tmp_path):
    picture = text_picture(NOTICE * 4, FONT)
    pages = [[(text_picture([f"Figure {n} of the provisions"], FONT), 72.0, 100.0, 300.0),
              (picture, 72.0, 160.0, 450.0)] for n in range(1, 13)]  # fmt: skip

    markdown = convert(tmp_path, pages)

    assert "Figure 1 of the provisions" in flat(markdown[0])
    assert word_recall(" ".join(NOTICE), markdown[0]) >= 0.95
    assert all(BODY in flat(page) for page in markdown)
    assert not any("autopilot" in page for page in markdown[-4:])


def test_a_picture_repeated_on_every_page_is_read_on_every_page(tmp_path):
    picture = text_picture(NOTICE * 2, FONT)

    markdown = convert(tmp_path, [[(picture, 72.0, 120.0, 450.0)]] * 8)

    assert all(word_recall(" ".join(NOTICE), page) >= 0.95 for page in markdown)


def test_a_picture_seen_before_in_the_document_is_not_read_again():
    picture = np.ascontiguousarray(
        np.asarray(text_picture(NOTICE, FONT).convert("RGB"))[:, :, ::-1]
    )
    budget = ocr.PictureBudget(100_000)
    first = ocr.read_picture(picture, budget)
    left = budget.columns

    again = ocr.read_picture(picture.copy(), budget)

    assert [line.text for line in again] == [line.text for line in first]
    assert budget.columns == left


def test_a_photograph_costs_no_detection_and_no_recognition():
    blotches = np.random.default_rng(14).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    photo = cv2.resize(blotches, (800, 600), interpolation=cv2.INTER_CUBIC)
    budget = ocr.PictureBudget(100_000)

    assert ocr.read_picture(photo, budget) == []
    assert budget.columns == 100_000
