"""The caps on what one page may cost (documents.limits): known from headers and page trees,
before anything is decoded, rendered or expanded."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from documents import limits
from documents.engines.base import (
    ConversionOptions,
    ImageTooLarge,
    InvalidPageRange,
    PageTooLarge,
    TooManyPages,
    UnreadableDocument,
    parse_page_range,
    select_pages,
)
from documents.engines.local import LocalEngine
from fakes import hostile


def written(tmp_path, content: bytes, name: str = "file"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_page_range_is_counted_before_it_is_expanded(settings):
    settings.MAX_PAGES = 1000
    text = ",".join(f"{i * 10**5 + 1}-{(i + 1) * 10**5}" for i in range(64))  # 999 characters

    with pytest.raises(TooManyPages) as refused:
        parse_page_range(text)

    assert "6,400,000 pages" in str(refused.value) and "MAX_PAGES" in str(refused.value)
    assert (refused.value.setting, refused.value.maximum) == ("MAX_PAGES", 1000)


def test_overlapping_ranges_count_each_page_once(settings):
    settings.MAX_PAGES = 10
    assert parse_page_range("1-10,3-7,10,1-4") == tuple(range(1, 11))
    with pytest.raises(TooManyPages):
        parse_page_range("1-10,3-11")


@pytest.mark.parametrize("text", ["0", "3-1", "1,,2", "1-²"])
def test_a_malformed_range_is_still_an_invalid_range(text):
    with pytest.raises(InvalidPageRange):
        parse_page_range(text)


def test_every_page_of_a_document_counts_against_the_cap_unless_a_range_picks_fewer(settings):
    settings.MAX_PAGES = 5
    assert select_pages(None, 5) == [0, 1, 2, 3, 4]
    with pytest.raises(TooManyPages):
        select_pages(None, 6)
    assert select_pages((2, 6), 100) == [1, 5]


def test_a_huge_page_renders_within_the_budget_and_a_normal_one_at_full_resolution(settings):
    settings.MAX_RENDER_PIXELS = 16_000_000
    assert limits.render_scale(612 * 792, 300) == 300 / 72
    for side in (3000, 14_400):
        scale = limits.render_scale(side * side, 300)
        assert (side * scale) ** 2 <= 16_000_000
        assert (side * scale) ** 2 > 15_000_000, "scaled further down than the budget asks"
    assert limits.render_scale(0, 300) == 300 / 72


def test_an_image_too_large_is_refused_from_its_header_alone(tmp_path, settings):
    settings.MAX_IMAGE_PIXELS = 1_000_000
    path = written(tmp_path, hostile.png_header_only(2000, 1000))  # no pixel data at all

    with pytest.raises(ImageTooLarge) as refused:
        limits.image_page_count(path)

    assert "2000 x 1000 = 2,000,000 pixels" in str(refused.value)
    assert refused.value.setting == "MAX_IMAGE_PIXELS"


def test_an_image_past_pillows_own_bomb_check_is_refused_the_same_way(tmp_path):
    path = written(tmp_path, hostile.png_header_only(2**31 - 1, 2**31 - 1))

    with pytest.raises(ImageTooLarge, match="MAX_IMAGE_PIXELS"):
        limits.image_page_count(path)


def test_pillows_bomb_check_is_set_from_the_setting(settings):
    assert Image.MAX_IMAGE_PIXELS == settings.MAX_IMAGE_PIXELS


def test_each_frame_of_a_tiff_is_counted_and_checked(tmp_path, settings):
    small = Image.new("L", (100, 100), 255)
    large = Image.new("L", (1000, 1000), 255)
    out = io.BytesIO()
    small.save(out, format="TIFF", save_all=True, append_images=[small, large])
    path = written(tmp_path, out.getvalue())

    assert limits.image_page_count(written(tmp_path, hostile.tiff_of_words(["A", "B"]), "t")) == 2
    settings.MAX_IMAGE_PIXELS = 100_000
    with pytest.raises(ImageTooLarge, match="frame 3 of the image"):
        limits.image_page_count(path)


def test_a_tiff_of_more_frames_than_the_cap_is_refused_without_reading_them_all(tmp_path, settings):
    settings.MAX_PAGES = 3
    path = written(tmp_path, hostile.tiff_of_words(["A", "B", "C", "D", "E"], size=(40, 20)))

    with pytest.raises(TooManyPages, match="more than 3 frames"):
        limits.image_page_count(path)


def test_a_file_that_is_no_image_is_unreadable(tmp_path):
    with pytest.raises(UnreadableDocument):
        limits.image_page_count(written(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40))


def test_a_page_past_the_side_cap_is_refused_without_loading_it(tmp_path, settings):
    document = pdfium.PdfDocument(hostile.pdf_with_page(1e9, 1e9))
    try:
        with pytest.raises(PageTooLarge) as refused:
            limits.check_pdf_pages(document, None)
    finally:
        document.close()

    assert "1,000,000,000 x 1,000,000,000 points" in str(refused.value)
    assert refused.value.setting == "MAX_PAGE_SIDE"


def test_only_the_pages_asked_for_are_checked(tmp_path):
    path = written(tmp_path, hostile.pdf_with_page(612, 792, "text", pages=3))
    options = ConversionOptions(pages=(1, 3))

    assert limits.check_document(path, "application/pdf", options) == [0, 2]


def test_a_larger_image_is_scaled_down_to_the_render_budget(settings):
    settings.MAX_RENDER_PIXELS = 1_000_000
    fitted = limits.fit_for_ocr(Image.new("L", (3000, 2000)))
    assert fitted.size[0] * fitted.size[1] <= 1_000_000
    assert limits.fit_for_ocr(Image.new("L", (1000, 1000))).size == (1000, 1000)


@pytest.mark.slow
def test_each_tiff_frame_is_read_as_its_own_page(tmp_path):
    path = written(tmp_path, hostile.tiff_of_words(["FIRST", "SECOND", "THIRD"]))

    every = LocalEngine().convert(path, "image/tiff", ConversionOptions())
    second = LocalEngine().convert(path, "image/tiff", ConversionOptions(pages=(2,)))

    assert [page.markdown.strip() for page in every.pages] == ["FIRST", "SECOND", "THIRD"]
    assert [page.index for page in every.pages] == [0, 1, 2]
    assert every.pages_processed == 3
    assert [(page.index, page.markdown.strip()) for page in second.pages] == [(1, "SECOND")]
