"""`ilios convert`: files and folder trees of documents to a mirrored tree of Markdown, N at a time,
resumably.

Each input gets `DIR/<relative path>.md` (`in/sub/c.pdf` → `DIR/sub/c.pdf.md`, so `c.pdf` and
`c.png` never collide) and beside it a record, `<relative path>.ilios.json`: the file's sha256,
the engine asked for and the server's document id. The record is written before the upload
(`submitting`, with the Idempotency-Key the upload carries), after it (`submitted`, with the
document id) and after the Markdown (`completed`). So a run stopped any way (Ctrl-C, a closed
laptop, kill -9) and started again:
- skips a file whose Markdown is there with a `completed` record of the same sha256 and engine;
- collects a document still converting on the server rather than uploading its file again;
- resends, under the same Idempotency-Key, an upload that may or may not have reached the server
  (a server that honours the key answers with the document the first upload made).
A failed file keeps no record, so the next run tries it again.

Folders are walked for files named as a PDF or an image (hidden files and folders left out):
the name decides without opening anything, and the server, which sniffs every upload's bytes,
stays the one judge of content. A file whose name lies is listed with the server's 415 reason
rather than skipped unseen, and a file named on the command line is always sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePath

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ilios_cli.client import ApiError, Client, CliError, Interrupted

DOCUMENT_SUFFIXES = frozenset(
    {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif"}
)
RECORD_SUFFIX = ".ilios.json"
HASH_CHUNK = 1 << 20


class UsageError(CliError):
    exit_code = 2


@dataclass(frozen=True)
class Source:
    path: Path  # as found: in/sub/c.pdf
    relative: PurePath  # under the folder it was found in (sub/c.pdf), or its name if given alone


@dataclass(frozen=True)
class Record:
    """What the output folder knows of a source, written beside its Markdown."""

    sha256: str
    engine: str | None
    status: str  # submitting | submitted | completed
    idempotency_key: str | None = None  # while submitting or submitted
    document_id: str | None = None
    pages: int | None = None


@dataclass(frozen=True)
class Outcome:
    state: str  # converted | failed | in_flight | not_started
    pages: int = 0
    reason: str = ""


def find_sources(inputs: list[Path]) -> tuple[list[Source], int]:
    """The files to convert, and how many other files the folders held (hidden ones aside)."""
    sources: dict[Path, Source] = {}
    ignored = 0
    for given in inputs:
        if given.is_file():
            sources.setdefault(given.resolve(), Source(given, PurePath(given.name)))
        elif given.is_dir():
            for folder, folders, files in os.walk(given):
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                for name in sorted(files):
                    path = Path(folder, name)
                    if name.startswith("."):
                        continue
                    if path.suffix.lower() not in DOCUMENT_SUFFIXES:
                        ignored += 1
                        continue
                    sources.setdefault(path.resolve(), Source(path, path.relative_to(given)))
        else:
            raise UsageError(f"no such file or folder: {given}")
    claimed: dict[PurePath, Path] = {}
    for source in sources.values():
        if (other := claimed.setdefault(source.relative, source.path)) != source.path:
            raise UsageError(
                f"{other} and {source.path} would both be written to {source.relative}.md: "
                "convert them in separate runs, each with its own --out"
            )
    return list(sources.values()), ignored


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class OutputFolder:
    """DIR: the Markdown and the records, each file replaced whole (a crash leaves the old one or
    the new one, never half of one)."""

    def __init__(self, root: Path):
        self.root = root

    def markdown_path(self, source: Source) -> Path:
        return self.root / source.relative.parent / f"{source.relative.name}.md"

    def record_path(self, source: Source) -> Path:
        return self.root / source.relative.parent / f"{source.relative.name}{RECORD_SUFFIX}"

    def record(self, source: Source) -> Record | None:
        try:
            return Record(**json.loads(self.record_path(source).read_text()))
        except (OSError, ValueError, TypeError):
            return None  # none, or not one of ours: the file is converted as if new

    def write_record(self, source: Source, record: Record) -> None:
        self._replace(self.record_path(source), json.dumps(asdict(record), indent=2).encode())

    def write_markdown(self, source: Source, markdown: bytes) -> None:
        self._replace(self.markdown_path(source), markdown)

    def forget(self, source: Source) -> None:
        self.record_path(source).unlink(missing_ok=True)

    @staticmethod
    def _replace(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as file:
            file.write(content)
        os.replace(file.name, path)


class Conversion:
    """One source through the server: upload (or pick up), wait, download; run in a thread."""

    def __init__(self, client: Client, output: OutputFolder, engine: str | None):
        self.client = client
        self.output = output
        self.engine = engine

    def run(self, source: Source, digest: str, record: Record | None) -> Outcome:
        on_server = record is not None and record.status == "submitted"
        try:
            finished = self._pick_up(record)
            if finished is None:
                on_server = False
                if self.client.stopping.is_set():
                    return Outcome("not_started")
                document_id = self._upload(source, digest, record)
                on_server = True
                finished = self.client.wait_until_finished(document_id, patient=True)
            return self._collect(source, digest, finished)
        except Interrupted:
            return Outcome("in_flight" if on_server else "not_started")
        except ApiError as error:
            if error.status == 400:
                raise UsageError(f"the server refused the request: {error.message}") from None
            self.output.forget(source)
            return Outcome("failed", reason=error.message)
        except OSError as error:  # the source unreadable, or DIR not writable
            return Outcome("failed", reason=str(error))

    def _pick_up(self, record: Record | None) -> dict | None:
        """The finished status of a document an earlier run submitted; None if there is none,
        or the server does not know it (another server, or deleted): it is uploaded again."""
        if record is None or record.status != "submitted" or record.document_id is None:
            return None
        try:
            return self.client.wait_until_finished(record.document_id, patient=True)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def _upload(self, source: Source, digest: str, record: Record | None) -> str:
        """Upload under an Idempotency-Key recorded first: an upload that an earlier run may
        or may not have made is resent under the same key."""
        resend = record is not None and record.status == "submitting"
        key = (record.idempotency_key if record and resend else None) or uuid.uuid4().hex
        submitting = Record(digest, self.engine, "submitting", key)
        self.output.write_record(source, submitting)
        document_id = self.client.submit(source.path, self.engine, key)["id"]
        self.output.write_record(
            source, replace(submitting, status="submitted", document_id=document_id)
        )
        return document_id

    def _collect(self, source: Source, digest: str, finished: dict) -> Outcome:
        if finished["status"] != "completed":
            self.output.forget(source)
            reason = finished.get("error") or f"the document was {finished['status']}"
            return Outcome("failed", reason=reason)
        document_id = finished["id"]
        self.output.write_markdown(source, self.client.markdown(document_id, patient=True))
        pages = (finished.get("metadata") or {}).get("extractedPages") or 0
        self.output.write_record(
            source,
            Record(digest, self.engine, "completed", document_id=document_id, pages=pages),
        )
        return Outcome("converted", pages=pages)


class TallyColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        errors = task.fields["errors"]
        speed = task.finished_speed or task.speed
        return Text.assemble(
            f"{plural(task.fields['pages'], 'page')} • ",
            (plural(errors, "error"), "bold red" if errors else ""),
            f" • {speed:.1f} files/s" if speed else " • – files/s",
        )


def progress_bar(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files •"),
        TallyColumn(),
        TextColumn("•"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=console,
    )


def convert(
    client: Client,
    inputs: list[Path],
    out: Path,
    *,
    engine: str | None,
    concurrency: int,
    console: Console,
    report: Console,
) -> int:
    """Run the conversion; progress on `console` (stderr), the summary on `report` (stdout).
    Answers the exit code: 0, 1 when a file failed, 130 when interrupted."""
    sources, ignored = find_sources(inputs)
    client.check_access()
    output = OutputFolder(out)
    todo: list[tuple[Source, str, Record | None]] = []
    done = 0
    with console.status(f"Checking {len(sources)} files against {out}…") as status:
        for position, source in enumerate(sources, start=1):
            status.update(f"Checking files against {out}: {position}/{len(sources)}")
            digest = sha256_of(source.path)
            record = output.record(source)
            if record and (record.sha256, record.engine) != (digest, engine):
                record = None  # the file or the engine changed: convert it anew
            if record and record.status == "completed" and output.markdown_path(source).exists():
                done += 1
            else:
                todo.append((source, digest, record))

    started = time.monotonic()
    outcomes: list[tuple[Source, Outcome]] = []
    fatal: CliError | None = None
    conversion = Conversion(client, output, engine)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ilios-convert")
    running: dict[Future[Outcome], Source] = {
        pool.submit(conversion.run, *item): item[0] for item in todo
    }

    def stop() -> None:
        client.stopping.set()
        for future in running:
            future.cancel()

    pages = errors = 0
    interrupted = False
    try:
        with progress_bar(console) as progress:
            task = progress.add_task("Converting", total=len(todo), pages=0, errors=0)
            while running:
                try:
                    finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                    for future in finished:
                        source = running.pop(future)
                        try:
                            outcome = (
                                Outcome("not_started") if future.cancelled() else future.result()
                            )
                        except CliError as error:
                            fatal = fatal or error
                            stop()
                            continue
                        outcomes.append((source, outcome))
                        if outcome.state == "failed":
                            errors += 1
                            failure = f"{source.path}: {outcome.reason}"
                            console.print(Text.assemble(("✗ ", "bold red"), failure))
                        if outcome.state in ("converted", "failed"):
                            pages += outcome.pages
                            progress.update(task, advance=1, pages=pages, errors=errors)
                except KeyboardInterrupt:
                    if interrupted:
                        console.print("Stopped at once.")
                        os._exit(130)
                    interrupted = True
                    stop()
                    console.print(
                        "Stopping: uploads under way finish and are recorded "
                        "(Ctrl-C again to quit at once)…"
                    )
    finally:
        stop()  # on any way out, no thread is left waiting on the server
        pool.shutdown()
    summarize(outcomes, done, ignored, time.monotonic() - started, out, report, console)
    if fatal:
        raise fatal
    if interrupted:
        return 130
    return 1 if errors else 0


def summarize(
    outcomes: list[tuple[Source, Outcome]],
    done: int,
    ignored: int,
    seconds: float,
    out: Path,
    report: Console,
    console: Console,
) -> None:
    by_state: dict[str, list[tuple[Source, Outcome]]] = {}
    for source, outcome in outcomes:
        by_state.setdefault(outcome.state, []).append((source, outcome))
    converted = by_state.get("converted", [])
    pages = sum(outcome.pages for _, outcome in converted)
    lines = [
        f"Converted {plural(len(converted), 'file')} ({plural(pages, 'page')}) "
        f"in {seconds:.1f} s into {out}."
    ]
    if done:
        lines.append(f"{plural(done, 'file')} already converted there, skipped.")
    if ignored:
        left_out = plural(ignored, "other file")
        lines.append(f"{left_out} in the folders left out (not named as a PDF or an image).")
    in_flight = len(by_state.get("in_flight", []))
    not_started = len(by_state.get("not_started", []))
    if in_flight or not_started:
        lines.append(
            f"Interrupted: {in_flight} still converting on the server, {not_started} not started."
            " Run the same command again to continue."
        )
    for line in lines:
        report.print(line, markup=False, highlight=False)
    if failed := by_state.get("failed"):
        console.print(Text(f"{plural(len(failed), 'file')} failed:", style="bold red"))
        for source, outcome in failed:
            console.print(f"  {source.path}: {outcome.reason}", markup=False, highlight=False)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
