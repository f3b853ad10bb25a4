"""An engine that does nothing, so the queue benchmark measures the queue alone."""

from pathlib import Path

from documents.engines.base import ConversionOptions, ConversionResult, Engine, Page


class NoopEngine(Engine):
    name = "noop"

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        return ConversionResult(pages=[Page(0, "noop")], model="noop", processing_ms=0)
