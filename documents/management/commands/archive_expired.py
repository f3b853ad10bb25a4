from django.core.management.base import BaseCommand

from documents import retention


class Command(BaseCommand):
    help = "Archive documents past their retention: delete the original and the content."

    def handle(self, **options):
        archived = retention.archive_expired()
        self.stdout.write(f"archived {archived} expired document(s)")
