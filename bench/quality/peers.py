"""Ilios's local engine beside offline peers, measured in one run on the same corpus and core.

Usage: .venv/bin/python -m bench.quality.peers [--runs 3] [--outdir DIR] [--skip-install]

Each peer runs from its own virtualenv under bench/.venvs/ (created on first use, git-ignored;
the peers are never Ilios dependencies): markitdown 0.1.x (with its PDF extra) and pdftext. The
raw pypdfium2 text layer and Ilios run from the project's own virtualenv. Every converter runs in a
child process pinned to one core (`taskset -c 0` where available) and converts the corpus
`--runs` times; the median run's speed is reported.

Measured: facts passed (all facts of ../shared/corpus/facts.jsonl pooled, scored by
../shared/tools/facts_check.py), born-digital pages/s (every `text-pdf` and `large` PDF of the
manifest), and for Ilios the OCR word recall and pages/s on the scans and images that have a
transcription. Ilios is measured twice: as shipped (pictures of text OCRed) and, for reference
only, with figure OCR switched off, which shows what the text layer alone costs.

Writes benchmarks/quality.json and prints a Markdown table; each converter's Markdown goes to
OUTDIR (default bench/out/quality/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench import common
from bench.quality.run_facts import (
    BORN_DIGITAL_KINDS,
    OCR_KINDS,
    corpus_dir,
    manifest,
    word_recall,
)

RESULTS = common.RESULTS / "quality.json"

# The child process (cwd: the repository, so Ilios imports): converts the given files `runs`
# times, writes the first run's Markdown and prints one JSON line per file and run. It imports
# only what its converter needs.
WORKER = r"""
import json, sys, time
from pathlib import Path

converter, outdir, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
files = [Path(p) for p in sys.argv[4:]]
MIME = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff"}

if converter == "pypdfium2":
    import pypdfium2 as pdfium

    def convert(path):
        if path.suffix.lower() != ".pdf":
            return "", 1
        document = pdfium.PdfDocument(str(path))
        try:
            texts = []
            for page in document:
                textpage = page.get_textpage()
                texts.append(textpage.get_text_range())
                textpage.close()
                page.close()
            return "\n\n".join(texts), len(texts)
        finally:
            document.close()

elif converter == "markitdown":
    from markitdown import MarkItDown

    engine = MarkItDown()

    def convert(path):
        return engine.convert(str(path)).text_content or "", None

elif converter == "pdftext":
    from pdftext.extraction import plain_text_output

    def convert(path):
        if path.suffix.lower() != ".pdf":
            return "", 1
        return plain_text_output(str(path)), None

elif converter.startswith("ilios"):
    import os

    import django

    # The engine reads its caps from the settings (documents.limits), as in the product.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    from documents.engines.base import ConversionOptions
    from documents.engines.local import LocalEngine, pdf

    if converter == "ilios-no-figure-ocr":
        pdf._figure_jobs = lambda *_: []  # no picture is read
    engine = LocalEngine()
    engine.convert(files[0], MIME[files[0].suffix.lower()], ConversionOptions())  # warm up

    def convert(path):
        result = engine.convert(path, MIME[path.suffix.lower()], ConversionOptions())
        return result.markdown, result.pages_processed

for run in range(runs):
    for path in files:
        started = time.perf_counter()
        try:
            text, pages = convert(path)
            error = None
        except Exception as exc:  # a peer that fails on a file scores nothing for it
            text, pages, error = "", None, f"{type(exc).__name__}: {exc}"[:200]
        seconds = time.perf_counter() - started
        if run == 0:
            (outdir / f"{path.name}.md").write_text(text + "\n")
        print(json.dumps({"run": run, "file": path.name, "seconds": seconds, "pages": pages,
                          "error": error}), flush=True)
"""


def pinned() -> list[str]:
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def version_of(python: Path, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return found.stdout.strip() or "?"


def run_converter(
    name: str, python: Path, files: list[Path], outdir: Path, runs: int
) -> list[dict]:
    outdir.mkdir(parents=True, exist_ok=True)
    worker = WORKER
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    completed = subprocess.run(
        [*pinned(), str(python), "-c", worker, name, str(outdir), str(runs), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        cwd=common.REPO,
    )
    records = []
    for line in completed.stdout.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    if completed.returncode != 0:
        print(completed.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{name} failed")
    return records


def score(outdir: Path, corpus: Path) -> dict:
    report = outdir / "facts.json"
    subprocess.run(
        [
            sys.executable,
            str(corpus.parent / "tools" / "facts_check.py"),
            str(corpus / "facts.jsonl"),
            str(outdir),
            "--corpus",
            "shared",
            "--json",
            str(report),
            "--quiet",
        ],
        check=True,
        capture_output=True,
    )
    return json.loads(report.read_text())["summary"]


def median_speed(records: list[dict], pages: dict[str, int], names: set[str]) -> float | None:
    """Pages per second of the median run over the given files (manifest page counts)."""
    speeds = []
    for run in sorted({r["run"] for r in records}):
        done = [r for r in records if r["run"] == run and r["file"] in names]
        seconds = sum(r["seconds"] for r in done)
        if seconds:
            speeds.append(sum(pages[r["file"]] for r in done) / seconds)
    return statistics.median(speeds) if speeds else None


def ocr_recall(outdir: Path, corpus: Path, names: list[str]) -> float:
    recalls = [
        word_recall((corpus / f"{name}.gt.txt").read_text(), (outdir / f"{name}.md").read_text())
        for name in names
    ]
    return statistics.mean(recalls) if recalls else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--outdir", type=Path, default=common.OUT / "quality")
    parser.add_argument("--skip-install", action="store_true")
    args = parser.parse_args()

    corpus = corpus_dir()
    rows = manifest(corpus)
    fact_docs = sorted(
        {json.loads(line)["doc"] for line in (corpus / "facts.jsonl").read_text().splitlines()}
    )
    born = sorted(f for f, row in rows.items() if row["kind"] in BORN_DIGITAL_KINDS)
    ocr_docs = sorted(
        f
        for f, row in rows.items()
        if row["kind"] in OCR_KINDS and (corpus / f"{f}.gt.txt").exists()
    )
    pages = {f: int(row["pages"]) for f, row in rows.items() if row["pages"].isdigit()}

    own = Path(sys.executable)
    converters = [
        ("pypdfium2", "raw text layer (pypdfium2)", own, "pypdfium2"),
        (
            "markitdown",
            "markitdown",
            common.venv("markitdown", install=not args.skip_install),
            "markitdown",
        ),
        (
            "pdftext",
            "pdftext (plain text)",
            common.venv("pdftext", install=not args.skip_install),
            "pdftext",
        ),
        ("ilios", "Ilios local", own, None),
        ("ilios-no-figure-ocr", "Ilios local, figure OCR off (reference only)", own, None),
    ]
    results = []
    for key, label, python, distribution in converters:
        files = [corpus / f for f in sorted(set(fact_docs) | set(born))]
        if key == "ilios":
            files += [corpus / f for f in ocr_docs if f not in fact_docs]
        print(f"running {label} ...", file=sys.stderr, flush=True)
        records = run_converter(key, python, files, args.outdir / key, args.runs)
        summary = score(args.outdir / key, corpus)
        version = version_of(python, distribution) if distribution else "working tree"
        entry = {
            "converter": label,
            "key": key,
            "version": version,
            "facts_passed": summary["passed"],
            "facts_total": summary["total"],
            "facts_pooled": summary["micro_pass_rate"],
            "facts_per_document": summary["macro_pass_rate"],
            "born_digital_pages_per_s": median_speed(records, pages, set(born)),
            "errors": sorted({r["file"] for r in records if r["error"]}),
        }
        if key == "ilios":
            entry["ocr_word_recall"] = ocr_recall(args.outdir / key, corpus, ocr_docs)
            entry["ocr_pages_per_s"] = median_speed(records, pages, set(ocr_docs))
            entry["ocr_documents"] = ocr_docs
        results.append(entry)

    report = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cores_used": 1 if pinned() else os.cpu_count(),
            "runs": args.runs,
            # other work on the machine slows every converter; the 1-minute load at the end
            "load_average": round(os.getloadavg()[0], 2),
        },
        "born_digital_documents": born,
        "born_digital_pages": sum(pages[f] for f in born),
        "converters": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown_table(results))
    print(f"\noutputs in {args.outdir}; results in {RESULTS.relative_to(common.REPO)}")
    return 0


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| converter | version | facts passed | born-digital pages/s "
        "| OCR word recall | OCR pages/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        speed = r["born_digital_pages_per_s"]
        recall = r.get("ocr_word_recall")
        ocr_speed = r.get("ocr_pages_per_s")
        lines.append(
            f"| {r['converter']} | {r['version']} "
            f"| {r['facts_pooled']:.1%} ({r['facts_passed']}/{r['facts_total']}) "
            f"| {speed:.1f} | "
            + (f"{recall:.1%}" if recall is not None else "—")
            + " | "
            + (f"{ocr_speed:.2f}" if ocr_speed is not None else "—")
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
