from django.core.management.base import BaseCommand

from jobs import queue


class Command(BaseCommand):
    help = "Recover jobs whose worker died or that ran past JOB_TIMEOUT (run from cron)."

    def handle(self, **options):
        recovered = queue.recover_orphans()
        self.stdout.write(f"recovered {recovered} orphaned job(s)")
