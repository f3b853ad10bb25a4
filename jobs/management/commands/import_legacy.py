import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from dotenv import dotenv_values

from ilios import config
from jobs import legacy_import

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Import the original Ilios service's SQLite database (./data/ilios.db, or /data/ilios.db "
        "in its Docker image): documents keep their ids, keys are stored hashed, usage is "
        "converted exactly. Safe to run again: what is already here is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the original service's ilios.db")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="do everything in a transaction that is rolled back, and report",
        )
        parser.add_argument(
            "--copy-originals",
            action="store_true",
            help="copy the originals from the original's bucket into Ilios's storage, checking "
            "each one's size (default: use them where they are, in the configured S3_BUCKET)",
        )
        parser.add_argument(
            "--source-env",
            type=Path,
            help="with --copy-originals: the original service's .env, for its bucket's "
            "S3_BUCKET, AWS_ENDPOINT_URL_S3 and credentials (default: this environment)",
        )

    def handle(self, path, dry_run, copy_originals, source_env, **options):
        originals = None
        if copy_originals:
            env = dotenv_values(source_env) if source_env else None
            originals = legacy_import.OriginalsSource(env or _original_settings())
        try:
            report = legacy_import.import_database(
                path, dry_run=dry_run, originals=originals, progress_to=self.show_progress
            )
        except legacy_import.LegacyDatabaseError as exc:
            raise CommandError(f"{exc}. Nothing was imported.") from None
        self.stdout.write(summary(report, dry_run))

    def show_progress(self, done: int, total: int) -> None:
        """A bar on a terminal; otherwise a line at every tenth, so logs stay short."""
        share = done / total if total else 1.0
        text = (
            f"documents {done:,}/{total:,} "
            f"[{'=' * round(share * BAR_WIDTH):<{BAR_WIDTH}}] {share:4.0%}"
        )
        if sys.stderr.isatty():
            self.stderr.write(f"\r{text}", ending="\n" if done == total else "")
        elif done == total or done * 10 // max(total, 1) != (done - 1) * 10 // max(total, 1):
            self.stderr.write(text)


def _original_settings() -> dict[str, str]:
    names = ("S3_BUCKET", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return {name: config.text(name) for name in names}


def summary(report: legacy_import.Report, dry_run: bool) -> str:
    heading = "Dry run: nothing was written. A real run would do this:" if dry_run else "Imported."
    lines = [heading, "", f"{'table':<10} {'read':>9} {'imported':>9} {'skipped':>9}  why skipped"]
    for name, tally in report.tallies.items():
        reasons = [f"{count:,} {reason}" for reason, count in tally.skipped.most_common()]
        lines.append(
            f"{name:<10} {tally.read:>9,} {tally.imported:>9,} {sum(tally.skipped.values()):>9,}"
            f"  {reasons[0] if reasons else ''}"
        )
        lines += [f"{'':<41}  {reason}" for reason in reasons[1:]]
    if report.notes:
        lines += ["", "Notes:"] + [f"  {n:>7,}  {note}" for note, n in report.notes.items()]
    lines += ["", *key_advice(report.keys)]
    return "\n".join(lines)


def key_advice(keys: list[legacy_import.LegacyKey]) -> list[str]:
    if not keys:
        return ["The original service ran without API keys: the imported data has no owner key."]
    lines = [
        f"API keys of the original ({len(keys)}), stored hashed. Keep in API_KEY (comma-separated)",
        "each key whose clients should keep their access; one left out stays revoked, as the",
        'original refused it. A key\'s fingerprint: printf %s "$KEY" | sha256sum | cut -c1-8',
        "",
        f"  {'key':<24} {'documents':>9} {'usage':>7}  in API_KEY now",
    ]
    for key in keys:
        lines.append(
            f"  {key.fingerprint:<24} {key.documents:>9,} {key.usage_records:>7,}  "
            f"{'yes' if key.in_api_key else 'no: add it to keep its access'}"
        )
    return lines
