"""Engines of the benchmarks: one that does nothing, so the queue benchmark measures the queue
alone, and the local engine with its calls counted."""

import os
from pathlib import Path

from documents.engines.base import ConversionOptions, ConversionResult, Engine, Page


class NoopEngine(Engine):
    name = "noop"

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        return ConversionResult(pages=[Page(0, "noop")], model="noop", processing_ms=0)


class CountedLocalEngine(Engine):
    """The local engine, every call counted as a line appended to BENCH_ENGINE_CALLS: a count
    that every worker and API process adds to (bench/cache.py reads it)."""

    name = "local"

    def __init__(self):
        from documents.engines.local import LocalEngine

        self.engine = LocalEngine()

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        with open(os.environ["BENCH_ENGINE_CALLS"], "a") as calls:
            calls.write(f"{os.getpid()}\n")
        return self.engine.convert(path, mime_type, options)
