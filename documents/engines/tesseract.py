"""Tesseract, the local engine's optional second recognizer, called as the `tesseract` program.

The bundled recognizer reads Latin and Chinese; Tesseract (Apache-2.0, Debian's `tesseract-ocr`
and its language packs) reads the scripts it cannot (Hebrew, Greek, Devanagari...) and the
letters its alphabet lacks (ø, ß, å...). Ilios runs without it: when the program or a language
pack named in OCR_LANGUAGES is missing, the pages that needed it are read by the bundled model
alone, and start-up says so once.

The program is run rather than linked (pytesseract would only wrap the same call, tesserocr needs
a build against libtesseract): one process per block of text costs some 50 ms beside a recognition
that takes a second or more, and an image travels as PNG on stdin, TSV comes back on stdout."""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGES = "eng"
LANGUAGES_RE = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?(\+[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?)*")
TIMEOUT_S = 120.0
# One OpenMP thread per call: workers already run one conversion per core.
ENVIRONMENT = {**os.environ, "OMP_THREAD_LIMIT": "1"}

# The script of each Tesseract language that is not written in the Latin alphabet, by the names
# Tesseract's script detection (OSD) reports. Script packs ("script/Hebrew") name their own.
SCRIPTS = {
    "Arabic": ("ara", "fas", "urd", "pus", "snd", "uig"),
    "Armenian": ("hye",),
    "Bengali": ("ben", "asm"),
    "Canadian_Aboriginal": ("iku",),
    "Cherokee": ("chr",),
    "Cyrillic": ("rus", "ukr", "bel", "bul", "mkd", "srp", "kaz", "kir", "mon", "tgk", "tat"),
    "Devanagari": ("hin", "mar", "nep", "san"),
    "Ethiopic": ("amh", "tir"),
    "Georgian": ("kat", "kat_old"),
    "Greek": ("ell", "grc"),
    "Gujarati": ("guj",),
    "Gurmukhi": ("pan",),
    "Han": ("chi_sim", "chi_tra", "chi_sim_vert", "chi_tra_vert"),
    "Hangul": ("kor", "kor_vert"),
    "Hebrew": ("heb", "yid"),
    "Japanese": ("jpn", "jpn_vert"),
    "Kannada": ("kan",),
    "Khmer": ("khm",),
    "Lao": ("lao",),
    "Malayalam": ("mal",),
    "Myanmar": ("mya",),
    "Oriya": ("ori",),
    "Sinhala": ("sin",),
    "Syriac": ("syr",),
    "Tamil": ("tam",),
    "Telugu": ("tel",),
    "Thaana": ("div",),
    "Thai": ("tha",),
    "Tibetan": ("bod", "dzo"),
}
SCRIPT_ALIASES = {"Hiragana": "Japanese", "Katakana": "Japanese"}
SCRIPT_OF = {language: script for script, found in SCRIPTS.items() for language in found}
# Latin-alphabet languages written without letters the bundled recognizer lacks.
PLAIN_LATIN = frozenset(("eng", "lat", "ind", "msa", "swa"))
LATIN = "Latin"
NOT_LANGUAGES = frozenset(("osd", "equ"))
BIDI_MARKS_RE = re.compile("[\u200e\u200f\u202a-\u202e]")


def parse(text: str) -> tuple[str, ...]:
    """The languages of an OCR_LANGUAGES value such as `eng+heb`, or ValueError."""
    text = text.strip()
    if not LANGUAGES_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a list of Tesseract languages such as eng+heb+ell")
    return tuple(dict.fromkeys(text.split("+")))


def script_of(language: str) -> str:
    if language.startswith("script/"):
        name = language.split("/", 1)[1]
        return LATIN if name.startswith("Latin") else name
    return SCRIPT_OF.get(language, LATIN)


@functools.cache
def installed() -> frozenset[str] | None:
    """The language packs Tesseract has, or None when the program is not installed."""
    program = shutil.which("tesseract")
    if program is None:
        return None
    try:
        listed = subprocess.run(
            [program, "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return frozenset(line.strip() for line in listed.stdout.splitlines()[1:] if line.strip())


def available(configured: tuple[str, ...]) -> tuple[str, ...]:
    """The configured languages Tesseract can read now (none without Tesseract)."""
    packs = installed()
    if packs is None:
        return ()
    return tuple(language for language in configured if language in packs)


def check_setting(value: str) -> None:
    """At start-up: a malformed OCR_LANGUAGES stops it, naming the setting; a language that
    cannot be read is a warning."""
    try:
        languages = parse(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"OCR_LANGUAGES: {error}") from None
    warn_if_missing(languages, explicit=languages != (DEFAULT_LANGUAGES,))


def warn_if_missing(configured: tuple[str, ...], explicit: bool) -> None:
    """Say at start-up which configured languages cannot be read, and what to install.

    Without Tesseract at all, the default (English, which the bundled model reads) is no reason
    to warn; a language the operator asked for is.
    """
    packs = installed()
    if packs is None:
        if explicit:
            logger.warning(
                "OCR_LANGUAGES is %s but Tesseract is not installed: scanned pages and images are "
                "read by the bundled recognizer alone (Latin and Chinese; no Hebrew, Greek, "
                "Devanagari... and no letters such as ø or ß). Install tesseract-ocr and its "
                "language packs (Debian: tesseract-ocr-%s).",
                "+".join(configured),
                configured[0].replace("_", "-"),
            )
        return
    missing = [language for language in configured if language not in packs]
    if missing:
        logger.warning(
            "OCR_LANGUAGES names %s, but Tesseract has no language pack for %s (installed: %s): "
            "text in %s is read by the bundled recognizer alone. Install %s or change "
            "OCR_LANGUAGES.",
            "+".join(configured),
            ", ".join(missing),
            ", ".join(sorted(packs - NOT_LANGUAGES)) or "none",
            "that language" if len(missing) == 1 else "those languages",
            ", ".join(f"tesseract-ocr-{m.replace('_', '-').lower()}" for m in missing),
        )


def run(png: bytes, arguments: list[str]) -> str | None:
    """Tesseract's output for a PNG image, or None when it fails or takes too long."""
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", *arguments],
            input=png,
            capture_output=True,
            timeout=TIMEOUT_S,
            env=ENVIRONMENT,
        )
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("tesseract failed: %s", error)
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


@dataclass
class TextLine:
    """A line Tesseract read: its text in reading order, its box in pixels, its confidence 0-1."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float


def detect_script(png: bytes) -> tuple[str | None, float]:
    """The script most of the image is written in and Tesseract's confidence in it (OSD), or
    (None, 0) when it cannot tell (too little text)."""
    found = run(png, ["--psm", "0"]) or ""
    script = re.search(r"^Script: (\S+)", found, re.MULTILINE)
    confidence = re.search(r"^Script confidence: ([\d.]+)", found, re.MULTILINE)
    if not script or not confidence:
        return None, 0.0
    return SCRIPT_ALIASES.get(script.group(1), script.group(1)), float(confidence.group(1))


def upside_down(png: bytes) -> bool | None:
    """Whether the image stands upside down, by Tesseract's orientation detection (None: it
    cannot tell)."""
    found = run(png, ["--psm", "0"])
    match = re.search(r"^Rotate: (\d+)", found or "", re.MULTILINE)
    return None if match is None else match.group(1) == "180"


def read_lines(png: bytes, languages: tuple[str, ...]) -> list[TextLine] | None:
    """The text lines of an image in `languages`, or None when Tesseract failed."""
    found = run(png, ["-l", "+".join(languages), "--psm", "3", "tsv"])
    if found is None:
        return None
    lines: dict[tuple[str, ...], list[tuple[str, float, list[float]]]] = {}
    for row in found.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = BIDI_MARKS_RE.sub("", cells[11]).strip()
        confidence = float(cells[10])
        if not text or confidence < 0:
            continue
        left, top, width, height = (float(value) for value in cells[6:10])
        lines.setdefault(tuple(cells[1:5]), []).append(
            (text, confidence / 100, [left, top, left + width, top + height])
        )
    result = []
    for words in lines.values():
        characters = sum(len(text) for text, _, _ in words)
        result.append(
            TextLine(
                " ".join(text for text, _, _ in words),
                min(box[0] for _, _, box in words),
                min(box[1] for _, _, box in words),
                max(box[2] for _, _, box in words),
                max(box[3] for _, _, box in words),
                sum(len(text) * confidence for text, confidence, _ in words) / characters,
            )
        )
    return result
