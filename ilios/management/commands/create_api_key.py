from django.core.management.base import BaseCommand

from ilios.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key and print it once: only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what the key is for, e.g. 'billing-service'")

    def handle(self, name, **options):
        key, raw_key = ApiKey.generate(name)
        self.stdout.write(raw_key)
        self.stderr.write(
            f"API key {key.name!r} created (prefix {key.prefix}). Copy it now: it cannot be "
            "shown again. Clients send it as 'Authorization: Bearer <key>'."
        )
