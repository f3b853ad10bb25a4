from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ilios import embedded_database


class Command(BaseCommand):
    help = (
        "Encrypt the embedded SQLite database (LOCAL_DB_PATH) with DB_ENCRYPTION_KEY, or with "
        "--decrypt turn it back into a plain one. Stop the API and the workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--decrypt", action="store_true", help="from encrypted (DB_ENCRYPTION_KEY) to plain"
        )

    def handle(self, decrypt, **options):
        if settings.DATABASE_URL:
            raise CommandError("DATABASE_URL is set: there is no embedded database to encrypt")
        if not settings.DB_ENCRYPTION_KEY:
            raise CommandError("set DB_ENCRYPTION_KEY to the key to encrypt (or decrypt) with")
        path = settings.LOCAL_DB_PATH
        if not path.is_file():
            raise CommandError(f"{path} does not exist: nothing to convert")
        plain = embedded_database.is_plain_sqlite(path)
        if plain == decrypt:
            raise CommandError(f"{path} is {'plain' if plain else 'encrypted'} already")
        try:
            embedded_database.convert(path, settings.DB_ENCRYPTION_KEY, encrypt=not decrypt)
        except embedded_database.DatabaseInUse as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{path} is now {'plain' if decrypt else 'encrypted with DB_ENCRYPTION_KEY'}. "
            + (
                "Unset DB_ENCRYPTION_KEY before starting Ilios."
                if decrypt
                else "Copies and backups made before are still plain: delete or re-encrypt them."
            )
        )
