"""The one interface every conversion engine implements.

An engine turns one file on local disk into Markdown pages. It never touches the database or
storage: the queue and the sync endpoint hand it a path and store what it returns, so an engine can
be tested, benchmarked and swapped on its own.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class ConversionOptions:
    """Per-request options. `pages` holds 1-based page numbers; None means every page."""

    pages: tuple[int, ...] | None = None
    password: str | None = field(default=None, repr=False)
    force_ocr: bool = False


@dataclass
class Page:
    index: int  # 0-based page index in the original document
    markdown: str


@dataclass
class ConversionResult:
    pages: list[Page]
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    processing_ms: int = 0

    @property
    def pages_processed(self) -> int:
        return len(self.pages)

    @property
    def markdown(self) -> str:
        return "\n\n".join(
            page.markdown.strip("\n") for page in self.pages if page.markdown.strip()
        )

    @classmethod
    def joined(cls, parts: list[ConversionResult]) -> ConversionResult:
        """The parts of a fanned-out conversion as one result: their pages in page order
        (whatever order the parts finished in), tokens and engine time added up."""
        return cls(
            pages=sorted((page for part in parts for page in part.pages), key=lambda p: p.index),
            model=parts[0].model,
            input_tokens=_total(part.input_tokens for part in parts),
            output_tokens=_total(part.output_tokens for part in parts),
            processing_ms=sum(part.processing_ms for part in parts),
        )


def _total(counts) -> int | None:
    """None when no part reported a count (the engine does not count tokens)."""
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


class ConversionError(Exception):
    """The document cannot be converted, now or ever: retrying will not help."""

    code = "conversion_failed"


class UnreadableDocument(ConversionError):
    code = "unreadable_document"


class PasswordRequired(ConversionError):
    code = "password_required"


class WrongPassword(ConversionError):
    code = "wrong_password"


class InvalidPageRange(ConversionError):
    code = "invalid_page_range"


class LimitExceeded(ConversionError):
    """The document is past a cap on what a conversion may cost (`documents.limits`); the
    message names the setting, which an operator may raise."""

    def __init__(self, message: str, *, setting: str, maximum: float):
        super().__init__(message)
        self.setting = setting
        self.maximum = maximum


class TooManyPages(LimitExceeded):
    code = "too_many_pages"


class ImageTooLarge(LimitExceeded):
    code = "image_too_large"


class PageTooLarge(LimitExceeded):
    code = "page_too_large"


class EngineUnavailable(Exception):
    """A transient failure (rate limit, 5xx, timeout, connection): the same call may succeed later.

    `retry_after` carries the server's Retry-After, in seconds, when it sent one; `kind` says
    which failure it was, so operators can tell a rate limit from an outage (the metrics count
    engine errors by kind, a ConversionError as `permanent`).
    """

    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"

    def __init__(self, message: str, retry_after: float | None = None, kind: str = SERVER):
        super().__init__(message)
        self.retry_after = retry_after
        self.kind = kind


class Engine(abc.ABC):
    name: str

    @abc.abstractmethod
    def convert(self, path: Path, mime_type: str, options: ConversionOptions) -> ConversionResult:
        """Convert the file at `path` (its type already sniffed as `mime_type`)."""


def parse_page_range(text: str) -> tuple[int, ...]:
    """Parse a page range such as "1-3,7" into sorted, distinct 1-based page numbers.

    Raises InvalidPageRange for anything that is not a well-formed range, and TooManyPages when
    it selects more than MAX_PAGES pages, counted before anything is expanded: "1-9999999" is
    nine characters. Whether the pages exist is checked by the engine, which knows the page count.
    """
    spans = []
    for part in text.replace(" ", "").split(","):
        if not part:
            raise InvalidPageRange(f"invalid page range {text!r}")
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part, flags=re.ASCII)
        if not match:
            raise InvalidPageRange(f"invalid page range {text!r}: use numbers such as 1-3,7")
        start, end = int(match.group(1)), int(match.group(2) or match.group(1))
        if start < 1 or end < start:
            raise InvalidPageRange(
                f"invalid page range {text!r}: pages start at 1 and ranges ascend"
            )
        spans.append((start, end))
    _check_page_total(_distinct_pages(spans), "the page range selects")
    return tuple(sorted({page for start, end in spans for page in range(start, end + 1)}))


def page_range_text(numbers: tuple[int, ...] | list[int]) -> str:
    """The shortest page range naming these ascending 1-based pages: [1, 2, 3, 7] is "1-3,7"."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ",".join(f"{start}-{end}" if end > start else f"{start}" for start, end in spans)


def _distinct_pages(spans: list[tuple[int, int]]) -> int:
    """How many pages the spans cover together, overlaps counted once, without listing them."""
    count = reach = 0
    for start, end in sorted(spans):
        if end > reach:
            count += end - max(start, reach + 1) + 1
            reach = end
    return count


def select_pages(requested: tuple[int, ...] | None, page_count: int) -> list[int]:
    """0-based indices of the requested pages, or InvalidPageRange if one is past the end.

    Every page when none are requested, up to MAX_PAGES (TooManyPages past it).
    """
    if requested is None:
        _check_page_total(page_count, "the document has")
        return list(range(page_count))
    missing = [number for number in requested if number > page_count]
    if missing:
        raise InvalidPageRange(
            f"page {missing[0]} does not exist: the document has {page_count} page(s)"
        )
    return [number - 1 for number in requested]


def _check_page_total(count: int, counted: str) -> None:
    if count > settings.MAX_PAGES:
        raise TooManyPages(
            f"{counted} {count:,} pages; at most {settings.MAX_PAGES:,} are converted at once "
            f"(MAX_PAGES): ask for fewer with a page range such as 1-{settings.MAX_PAGES}",
            setting="MAX_PAGES",
            maximum=settings.MAX_PAGES,
        )
