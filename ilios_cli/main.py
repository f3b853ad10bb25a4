"""The `ilios` command: argument parsing, the four subcommands, and exit codes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ilios_cli.client import DEFAULT_SERVER, ApiError, Client, CliError
from ilios_cli.convert import convert

EXIT_CODES = """exit codes:
  0    done
  1    the server refused or failed something (for convert: a file failed; each is listed)
  2    bad command line or API key
  3    the server cannot be reached
  130  interrupted (Ctrl-C); convert continues where it stopped when run again"""

CONVERT_DESCRIPTION = """\
Convert files, and folders recursively (PDFs and PNG, JPEG, TIFF, WebP, BMP and GIF
images, picked by their names), into DIR, mirroring the folders: in/sub/c.pdf becomes
DIR/sub/c.pdf.md. A file already converted into DIR (same sha256, recorded beside its
Markdown) is skipped, so a stopped run continues where it stopped."""


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def server_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL: write http://host:port")
    return text


def parser() -> argparse.ArgumentParser:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--server",
        type=server_url,
        default=os.environ.get("ILIOS_URL") or DEFAULT_SERVER,
        help=f"the Ilios server (default: $ILIOS_URL, else {DEFAULT_SERVER})",
    )
    connection.add_argument(
        "--api-key",
        default=os.environ.get("ILIOS_API_KEY") or None,
        help="API key, when the server requires one (default: $ILIOS_API_KEY)",
    )
    root = argparse.ArgumentParser(
        prog="ilios",
        description="Convert PDFs, scans and images to Markdown with an Ilios server.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    converting = commands.add_parser(
        "convert",
        parents=[connection],
        help="convert files and folders into a folder of Markdown",
        description=CONVERT_DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    converting.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    converting.add_argument("--out", required=True, type=Path, metavar="DIR")
    converting.add_argument(
        "--concurrency",
        type=positive,
        default=4,
        metavar="N",
        help="files in flight at once: uploading, converting or downloading (default: 4)",
    )
    converting.add_argument("--engine", help="local, mistral or auto (default: the server's)")
    converting.set_defaults(run=run_convert)

    status = commands.add_parser(
        "status", parents=[connection], help="a document's status, as JSON"
    )
    status.add_argument("document_id", metavar="ID")
    status.set_defaults(run=run_status)

    get = commands.add_parser(
        "get",
        parents=[connection],
        help="a document's Markdown, once converted (waits while it converts)",
    )
    get.add_argument("document_id", metavar="ID")
    get.add_argument("-o", "--output", type=Path, metavar="FILE", help="write it here, not stdout")
    get.set_defaults(run=run_get)

    usage = commands.add_parser(
        "usage", parents=[connection], help="usage totals of the API key, for a period"
    )
    usage.add_argument("--start", metavar="DATE", help="first day (ISO 8601), inclusive")
    usage.add_argument("--end", metavar="DATE", help="last day (ISO 8601), inclusive")
    usage.set_defaults(run=run_usage)
    return root


def run_convert(client: Client, args, console: Console, report: Console) -> int:
    return convert(
        client,
        args.inputs,
        args.out,
        engine=args.engine or None,
        concurrency=args.concurrency,
        console=console,
        report=report,
    )


def run_status(client: Client, args, console: Console, report: Console) -> int:
    with document_named(args):
        report.print_json(data=client.status(args.document_id))
    return 0


def run_get(client: Client, args, console: Console, report: Console) -> int:
    with document_named(args), console.status(f"Waiting for {args.document_id} to convert…"):
        client.wait_until_finished(args.document_id)
        markdown = client.markdown(args.document_id)
    if args.output:
        args.output.write_bytes(markdown)
    else:
        sys.stdout.buffer.write(markdown)
        sys.stdout.flush()
    return 0


@contextlib.contextmanager
def document_named(args):
    """A 404 says which document is not there, and that another key's documents are not seen."""
    try:
        yield
    except ApiError as error:
        if error.status == 404:
            raise CliError(
                f"no document {args.document_id} for this API key on {args.server}"
            ) from None
        raise


def run_usage(client: Client, args, console: Console, report: Console) -> int:
    totals = client.usage(args.start, args.end)
    period = f"{args.start or 'the beginning'} to {args.end or 'now'}"
    table = Table(title=f"Usage, {period}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, key in (
        ("documents", "totalDocuments"),
        ("conversions", "totalOperations"),
        ("pages", "totalPages"),
        ("input tokens", "totalInputTokens"),
        ("output tokens", "totalOutputTokens"),
    ):
        table.add_row(label, f"{totals[key]:,}")
    table.add_row("cost", dollars(totals["totalCostMicros"]))
    report.print(table)
    return 0


def dollars(micros: int) -> str:
    """Exact, at least to the cent: $1.30, and $0.0013 (one Mistral page and its margin)."""
    amount = Decimal(micros).scaleb(-6).normalize()
    places = max(2, -int(amount.as_tuple().exponent))
    return f"${amount:,.{places}f}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    report = Console(soft_wrap=True)
    try:
        with Client(args.server, args.api_key) as client:
            return args.run(client, args, console, report)
    except CliError as error:
        console.print(Text.assemble(("error: ", "bold red"), str(error)))
        return error.exit_code
    except KeyboardInterrupt:
        console.print("Interrupted.")
        return 130
