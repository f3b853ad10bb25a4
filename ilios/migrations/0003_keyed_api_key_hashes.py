"""API keys were stored as a plain SHA-256, and keys from API_KEY kept their first 6 characters
as a prefix (the whole key, for a key that short). This rewraps every stored hash in place as
HMAC-SHA256 under SECRET_KEY (`ilios.models.hash_key`: the HMAC of the SHA-256), so existing
keys keep working without anyone knowing them, and erases the prefixes of API_KEY keys (the
next start writes each configured key's short prefix again).

It cannot be undone (the HMAC does not give the SHA-256 back), and it must run with the
SECRET_KEY the servers will use.
"""

from django.db import migrations
from django.utils.crypto import salted_hmac

HASH_SALT = "ilios.api-key"  # as ilios.models.HASH_SALT when this migration was written


def keyed_hashes(apps, schema_editor):
    ApiKey = apps.get_model("ilios", "ApiKey")
    for key in ApiKey.objects.all():
        key.key_hash = salted_hmac(HASH_SALT, key.key_hash, algorithm="sha256").hexdigest()
        if key.from_environment:
            key.prefix = ""
        key.save(update_fields=["key_hash", "prefix"])


class Migration(migrations.Migration):
    dependencies = [("ilios", "0002_webhooks_and_idempotency_keys")]

    operations = [migrations.RunPython(keyed_hashes)]
