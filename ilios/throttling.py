"""Per-key request throttling, off unless THROTTLE_RATE is set.

Counts live in the default cache (the database, unless configured otherwise), so every gunicorn
process and every API host share one count per key.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        return settings.THROTTLE_RATE or None

    def get_cache_key(self, request, view):
        identity = request.auth.key_hash if request.auth else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": identity}
