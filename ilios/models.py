import hashlib
import secrets

from django.db import models
from django.utils.crypto import salted_hmac

# Keys shown in the admin keep at most this many leading characters, and never more than a
# quarter of the key: enough to recognise a key, never enough to be (or to shortcut) it.
PREFIX_LENGTH = 12
HASH_SALT = "ilios.api-key"


def hash_key(raw_key: str) -> str:
    """A keyed hash (HMAC-SHA256 under SECRET_KEY) of the key's SHA-256.

    Keyed, so a copy of the database alone cannot be used to guess keys offline, however short
    an operator's key is: without SECRET_KEY there is nothing to test guesses against. Over the
    SHA-256 rather than the key itself, so the hashes stored by earlier versions (plain SHA-256)
    could be upgraded in place, without the keys (migration 0002). Changing SECRET_KEY
    therefore invalidates every API key, as it does sealed passwords and sessions.
    """
    digest = hashlib.sha256(raw_key.encode()).hexdigest()
    return salted_hmac(HASH_SALT, digest, algorithm="sha256").hexdigest()


def key_prefix(raw_key: str) -> str:
    return raw_key[: min(PREFIX_LENGTH, len(raw_key) // 4)]


class ApiKey(models.Model):
    """A client's API key. Only its hash is stored; the key itself is shown once, at creation."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(default=True)
    from_environment = models.BooleanField(
        default=False, help_text="Configured by the API_KEY variable rather than in the admin."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls, name: str) -> tuple["ApiKey", str]:
        """Create a key; returns the row and the raw key, which is never retrievable again."""
        raw_key = "ilios_" + secrets.token_urlsafe(32)
        key = cls.objects.create(name=name, prefix=key_prefix(raw_key), key_hash=hash_key(raw_key))
        return key, raw_key
