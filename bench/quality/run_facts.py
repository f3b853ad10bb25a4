"""Score the local engine on the shared corpus: facts pass rate, born-digital speed, OCR recall.

Usage: .venv/bin/python -m bench.quality.run_facts [OUTDIR]   (default OUTDIR: bench/out/facts/)

The corpus is the shared one beside the repository, ../shared/corpus (or $ILIOS_CORPUS): its
facts.jsonl, MANIFEST.tsv and ground truths, scored by its ../tools/facts_check.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

# The local engine as the Docker image ships it: Tesseract, where installed, reads what the
# bundled recognizer cannot, in the languages the image configures (Dockerfile, OCR_LANGUAGES).
os.environ.setdefault("OCR_LANGUAGES", "eng+deu+fra+spa+ita+por+nld+heb+ell+grc+hin+ara+rus")
# The engine reads its caps from the settings (documents.limits), as in the product.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
import django  # noqa: E402

django.setup()

from bench import common  # noqa: E402
from documents.engines.base import ConversionOptions  # noqa: E402
from documents.engines.local import LocalEngine  # noqa: E402

MIME_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
}
BORN_DIGITAL_KINDS = {"text-pdf", "large"}
OCR_KINDS = {"image", "scanned-pdf"}


def corpus_dir() -> Path:
    return Path(os.environ.get("ILIOS_CORPUS", common.REPO.parent / "shared" / "corpus")).resolve()


def manifest(corpus: Path) -> dict[str, dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def convert(engine: LocalEngine, path: Path) -> tuple[str, int, float]:
    started = time.perf_counter()
    result = engine.convert(path, MIME_TYPES[path.suffix.lower()], ConversionOptions())
    return result.markdown, result.pages_processed, time.perf_counter() - started


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.findall(r"\w+", text)


def word_recall(truth: str, output: str) -> float:
    expected = Counter(words(truth))
    found = Counter(words(output))
    total = sum(expected.values())
    return sum(min(n, found[w]) for w, n in expected.items()) / total if total else 1.0


def main() -> int:
    corpus = corpus_dir()
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else common.OUT / "facts"
    outdir.mkdir(parents=True, exist_ok=True)
    facts = corpus / "facts.jsonl"
    docs = sorted({json.loads(line)["doc"] for line in facts.read_text().splitlines() if line})
    kinds = manifest(corpus)
    engine = LocalEngine()
    engine.convert(corpus / "phototest.tif", "image/tiff", ConversionOptions())  # load the model
    timings: dict[str, tuple[int, float]] = {}
    for doc in docs:
        markdown, pages, seconds = convert(engine, corpus / doc)
        (outdir / f"{doc}.md").write_text(markdown + "\n")
        timings[doc] = (pages, seconds)
        print(f"{doc:45s} {pages:4d} pages {seconds:7.2f} s", flush=True)

    report = outdir / "facts.json"
    subprocess.run(
        [
            sys.executable,
            str(corpus.parent / "tools" / "facts_check.py"),
            str(facts),
            str(outdir),
            "--corpus",
            "shared",
            "--json",
            str(report),
            "--quiet",
        ],
        check=False,
    )
    scores = json.loads(report.read_text())
    for document in scores["documents"]:
        print(f"  {document['doc']:45s} {document['passed']:3d}/{document['total']:3d}")
    for fact in scores["facts"]:
        if not fact.get("passed") and not fact.get("soft"):
            print(f"  FAIL {fact.get('id')}")
    summary = scores["summary"]
    print(
        f"facts passed {summary['passed']}/{summary['total']} = "
        f"{summary['micro_pass_rate']:.1%} pooled, {summary['macro_pass_rate']:.1%} per document"
    )

    born = [d for d, row in kinds.items() if row["kind"] in BORN_DIGITAL_KINDS]
    pages = seconds = 0.0
    for doc in born:
        if doc not in timings:
            timings[doc] = convert(engine, corpus / doc)[1:]
        pages += timings[doc][0]
        seconds += timings[doc][1]
    print(f"born-digital: {pages:.0f} pages in {seconds:.2f} s = {pages / seconds:.1f} pages/s")

    ocr_pages = ocr_seconds = 0.0
    for doc, row in sorted(kinds.items()):
        truth = corpus / f"{doc}.gt.txt"
        if row["kind"] not in OCR_KINDS or not truth.exists():
            continue
        markdown, count, elapsed = convert(engine, corpus / doc)
        ocr_pages += count
        ocr_seconds += elapsed
        recall = word_recall(truth.read_text(), markdown)
        print(f"OCR {doc:40s} word recall {recall:6.1%}  {count / elapsed:5.2f} pages/s")
    if ocr_seconds:
        print(f"OCR speed: {ocr_pages / ocr_seconds:.2f} pages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
