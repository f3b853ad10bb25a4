"""Scripts the bundled recognizer cannot read, and letters its alphabet lacks, come through with
Tesseract as the second recognizer (issue 14); without Tesseract, Ilios still runs.

`make test` installs Tesseract and the language packs and fonts used here
(scripts/ensure_tesseract.sh); where they cannot be installed these tests skip and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from documents.engines import tesseract
from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine

from .made import FONTS, PdfMaker, flat, text_image, word_recall

REPO = Path(__file__).resolve().parents[3]
HEBREW = ["בראשית ברא אלהים את השמים ואת הארץ", "והארץ היתה תהו ובהו וחשך על פני תהום"]
GREEK = [
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν,",
    "καὶ θεὸς ἦν ὁ λόγος. οὗτος ἦν ἐν ἀρχῇ πρὸς τὸν θεόν.",
]
HINDI = [
    "भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं",
    "हिमालय पर्वत उत्तर में स्थित है और गंगा नदी बहती है",
]
EUROPEAN = [
    "Die Größe der Straße ist schön, sagte Jürgen.",
    "Le café était très bon, à la façon française.",
    "Bølgerne ved søen, smørrebrød og kaffe.",
]
ACCENTED_WORDS = ["Größe", "Straße", "schön", "Jürgen", "café", "très", "façon", "smørrebrød"]
DEVANAGARI_FONT = "lohit-devanagari/Lohit-Devanagari.ttf"


def needs(*languages: str):
    packs = tesseract.installed()
    missing = [x for x in languages if packs is None or x not in packs]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"Tesseract language packs missing: {', '.join(missing)} "
        "(scripts/ensure_tesseract.sh installs them)",
    )


def read(path: Path, languages: str) -> str:
    return LocalEngine(languages).convert(path, "image/png", ConversionOptions()).markdown


@needs("heb")
def test_hebrew_is_read_in_logical_order(tmp_path):
    image = text_image(tmp_path / "hebrew.png", HEBREW, "dejavu/DejaVuSans.ttf")

    markdown = read(image, "eng+heb")

    assert word_recall(" ".join(HEBREW), markdown) >= 0.95
    assert "בראשית ברא אלהים" in flat(markdown)
    assert flat(markdown).index("בראשית") < flat(markdown).index("תהום")


@needs("ell", "grc")
def test_polytonic_greek_is_read(tmp_path):
    image = text_image(tmp_path / "greek.png", GREEK, "dejavu/DejaVuSerif.ttf")

    markdown = read(image, "eng+ell+grc")

    assert word_recall(" ".join(GREEK), markdown) >= 0.95


@needs("hin")
@pytest.mark.skipif(not (FONTS / DEVANAGARI_FONT).exists(), reason="no Devanagari font installed")
def test_devanagari_is_read(tmp_path):
    image = text_image(tmp_path / "hindi.png", HINDI, DEVANAGARI_FONT)

    markdown = read(image, "eng+hin")

    assert word_recall(" ".join(HINDI), markdown) >= 0.9


@needs("heb", "ell", "grc")
def test_a_greek_column_beside_a_hebrew_column_are_each_read_in_their_script(tmp_path):
    greek = text_image(tmp_path / "greek.png", GREEK, "dejavu/DejaVuSerif.ttf")
    hebrew = text_image(tmp_path / "hebrew.png", HEBREW, "dejavu/DejaVuSans.ttf")
    from PIL import Image

    with Image.open(greek) as left, Image.open(hebrew) as right:
        page = Image.new("L", (left.width + right.width, max(left.height, right.height)), 255)
        page.paste(left, (0, 0))
        page.paste(right, (left.width, 0))
        page.save(tmp_path / "two-columns.png")

    markdown = read(tmp_path / "two-columns.png", "eng+heb+ell+grc")

    assert word_recall(" ".join(GREEK), markdown) >= 0.9
    assert word_recall(" ".join(HEBREW), markdown) >= 0.9


@needs("deu", "fra", "dan")
def test_european_diacritics_in_a_scan_come_through_exactly(tmp_path):
    image = text_image(tmp_path / "european.png", EUROPEAN, "dejavu/DejaVuSerif.ttf")

    markdown = read(image, "eng+deu+fra+dan")

    words = flat(markdown).replace(",", " ").replace(".", " ").split()
    assert [word for word in ACCENTED_WORDS if word not in words] == []


def test_european_diacritics_in_a_text_layer_come_through_exactly(tmp_path):
    maker = PdfMaker()
    maker.page([(line, 72.0, 100.0 + 20 * i, 11.0, "Helvetica") for i, line in enumerate(EUROPEAN)])
    path = maker.save(tmp_path / "european.pdf")

    result = LocalEngine("eng").convert(path, "application/pdf", ConversionOptions())

    assert flat(result.markdown) == " ".join(EUROPEAN)


@needs("heb")
def test_a_script_without_a_configured_language_is_left_to_the_bundled_model(tmp_path):
    image = text_image(tmp_path / "hebrew.png", HEBREW, "dejavu/DejaVuSans.ttf")

    markdown = read(image, "eng")

    assert not any("\u0590" <= ch <= "\u05ff" for ch in markdown)


def start(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py check` as an operator starts Ilios, with the given environment on top."""
    environment = {**os.environ, "DATA_DIR": os.environ["DATA_DIR"], **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(tesseract.installed() is None, reason="Tesseract is not installed")
def test_start_up_warns_about_a_configured_language_pack_that_is_missing():
    started = start({"OCR_LANGUAGES": "eng+xyz"})

    assert started.returncode == 0
    assert "OCR_LANGUAGES" in started.stderr
    assert "no language pack for xyz" in started.stderr


def test_without_tesseract_ilios_starts_and_says_why_configured_languages_are_not_read(tmp_path):
    no_tesseract = {"PATH": str(tmp_path)}

    plain = start(no_tesseract)
    asked = start({**no_tesseract, "OCR_LANGUAGES": "eng+heb"})

    assert plain.returncode == asked.returncode == 0
    assert "OCR_LANGUAGES" not in plain.stderr
    assert "Tesseract is not installed" in asked.stderr


def test_a_malformed_language_list_stops_start_up_naming_the_setting():
    started = start({"OCR_LANGUAGES": "eng, heb"})

    assert started.returncode != 0
    assert "OCR_LANGUAGES" in started.stderr
