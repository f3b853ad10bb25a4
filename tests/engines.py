"""An engine whose behaviour the document itself scripts, so tests can drive real worker
processes (which share nothing with the test but the database and the files).

The original's bytes may contain `SLEEP=<seconds>`, `FAIL=retryable`, `FAIL=permanent` or `CRASH`.
"""

import os
import re
import time
from pathlib import Path

from documents.engines.base import (
    ConversionError,
    ConversionOptions,
    ConversionResult,
    Engine,
    EngineUnavailable,
    Page,
)


class ScriptedEngine(Engine):
    name = "scripted"

    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        script = path.read_bytes()
        if sleep := re.search(rb"SLEEP=([\d.]+)", script):
            time.sleep(float(sleep.group(1)))
        if b"CRASH" in script:
            os._exit(9)
        if b"FAIL=retryable" in script:
            raise EngineUnavailable("scripted outage", retry_after=None)
        if b"FAIL=permanent" in script:
            raise ConversionError("scripted permanent failure")
        return ConversionResult(
            pages=[Page(0, f"# Scripted\n\n{path.stat().st_size} bytes")],
            model="scripted-1",
            processing_ms=1,
        )
