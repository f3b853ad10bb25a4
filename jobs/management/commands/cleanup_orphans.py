from django.core.management.base import BaseCommand

from documents import leftovers
from jobs import queue


class Command(BaseCommand):
    help = (
        "Recover jobs whose worker died or that ran past JOB_TIMEOUT, and remove leftover files:"
        " stale temp files, direct uploads never completed and stored originals no document"
        " references (run from cron)."
    )

    def handle(self, **options):
        recovered = queue.recover_orphans()
        self.stdout.write(f"recovered {recovered} orphaned job(s)")
        temp_files = leftovers.remove_stale_temp_files()
        self.stdout.write(f"removed {temp_files} stale temp file(s)")
        uploads = leftovers.remove_abandoned_uploads()
        self.stdout.write(f"deleted {uploads} upload(s) never completed")
        originals = leftovers.remove_unreferenced_originals()
        self.stdout.write(f"deleted {originals} original(s) no document references")
