import base64
import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ilios import crypto

# Keys shown in the admin keep at most this many leading characters, and never more than a
# quarter of the key: enough to recognise a key, never enough to be (or to shortcut) it.
PREFIX_LENGTH = 12
HASH_SALT = "ilios.api-key"


def hash_key(raw_key: str) -> str:
    """A keyed hash (HMAC-SHA256 under SECRET_KEY) of the key's SHA-256.

    Keyed, so a copy of the database alone cannot be used to guess keys offline, however short
    an operator's key is: without SECRET_KEY there is nothing to test guesses against. Over the
    SHA-256 rather than the key itself, so the hashes stored by earlier versions (plain SHA-256)
    could be upgraded in place, without the keys (migration 0003). Changing SECRET_KEY
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
    # Webhooks (issue 13): where this key's documents and batches are announced when a request
    # names no webhookUrl, and the key's own signing secret, sealed (it must sign, so it cannot
    # be hashed; ilios.crypto).
    webhook_url = models.CharField(
        max_length=2000,
        blank=True,
        help_text="Default webhook target for this key's documents and batches; a request's "
        "webhookUrl wins.",
    )
    webhook_secret_sealed = models.TextField(blank=True, editable=False)

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

    # --- Webhook signing secret -------------------------------------------------------------

    def new_webhook_secret(self) -> str:
        """Give the key a fresh signing secret and return it: shown once, stored only sealed."""
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.webhook_secret_sealed = crypto.seal(secret)
        ApiKey.objects.filter(id=self.id).update(webhook_secret_sealed=self.webhook_secret_sealed)
        return secret

    def webhook_secret(self) -> str | None:
        return crypto.unseal(self.webhook_secret_sealed) if self.webhook_secret_sealed else None


class IdempotencyKey(models.Model):
    """A creating request's `Idempotency-Key`, scoped to its API key (ilios.idempotency).

    The row is inserted before the request's work starts, so a racing duplicate finds it and
    waits; `response` is filled in when the work succeeded and replayed for 24 hours.
    """

    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="HMAC of the request's content.")
    response = models.JSONField(null=True, help_text="Empty while the first request runs.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "key"],
                condition=models.Q(api_key__isnull=False),
                name="idempotency_key_per_api_key",
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(api_key__isnull=True),
                name="idempotency_key_when_open",
            ),
        ]

    def __str__(self):
        return self.key
