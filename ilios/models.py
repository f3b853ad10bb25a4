import hashlib
import secrets

from django.db import models


def hash_key(raw_key: str) -> str:
    """Keys are long random strings, so one SHA-256 is enough: there is nothing to brute-force."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


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
        key = cls.objects.create(name=name, prefix=raw_key[:12], key_hash=hash_key(raw_key))
        return key, raw_key
