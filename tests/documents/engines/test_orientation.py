"""Born-digital pages in any orientation are read from their text layer, as a viewer turned
upright would read them (issue 14: rotated by /Rotate or by the text matrix, and mirrored)."""

from __future__ import annotations

import pytest

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine

from .made import (
    FIRST_PARAGRAPH,
    ORIENTATIONS,
    SECOND_PARAGRAPH,
    flat,
    orientation_pdf,
    word_recall,
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    path = orientation_pdf(tmp_path_factory.mktemp("orientation") / "orientations.pdf")
    result = LocalEngine().convert(path, "application/pdf", ConversionOptions())
    assert len(result.pages) == len(ORIENTATIONS)
    return dict(zip(ORIENTATIONS, (page.markdown for page in result.pages), strict=True))


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_every_word_of_a_turned_or_mirrored_page_comes_back(pages, orientation):
    assert word_recall(f"{FIRST_PARAGRAPH} {SECOND_PARAGRAPH}", pages[orientation]) >= 0.98


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_a_turned_or_mirrored_page_reads_as_two_paragraphs_in_order(pages, orientation):
    markdown = pages[orientation]

    assert markdown.split("\n\n") == [FIRST_PARAGRAPH, SECOND_PARAGRAPH]


def test_turned_pages_keep_their_page_index(tmp_path):
    path = orientation_pdf(tmp_path / "orientations.pdf")

    result = LocalEngine().convert(path, "application/pdf", ConversionOptions(pages=(2, 8)))

    assert [page.index for page in result.pages] == [1, 7]
    assert all(FIRST_PARAGRAPH in flat(page.markdown) for page in result.pages)
