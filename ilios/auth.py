"""API key authentication: `Authorization: Bearer`, `X-API-Key`, or the legacy `?apiKey=`.

With no active key at all the API is open, and a key sent anyway is ignored rather than refused:
the original service's clients, and its README's examples, send one whether or not a key is
configured.

Keys from the API_KEY variable are mirrored into ApiKey rows (hash only) the first time a process
checks a key, so both kinds of key own documents, batches and usage the same way.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from ilios.models import ApiKey, hash_key, key_prefix

logger = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)
KEYS_CHECK_SECONDS = 1.0
_environment_keys_synced = False
_keys_required_until = 0.0  # monotonic time until which `_keys_required` holds
_keys_required = False
# HMAC of a key that matched an active row -> (that row, monotonic time until which it stands).
_verified: dict[str, tuple[ApiKey, float]] = {}


def environment_keys() -> list[str]:
    return [key.strip() for key in settings.API_KEY.split(",") if key.strip()]


def sync_environment_keys() -> None:
    """Mirror API_KEY into ApiKey rows; keys removed from API_KEY are deactivated."""
    global _environment_keys_synced
    wanted = {hash_key(raw): raw for raw in environment_keys()}
    for position, (digest, raw) in enumerate(wanted.items(), start=1):
        try:
            with transaction.atomic():
                ApiKey.objects.update_or_create(
                    key_hash=digest,
                    defaults={"active": True, "from_environment": True, "prefix": key_prefix(raw)},
                    create_defaults={
                        "name": f"API_KEY #{position}",
                        "prefix": key_prefix(raw),
                        "from_environment": True,
                    },
                )
        except IntegrityError:
            pass  # another process created it first
    ApiKey.objects.filter(from_environment=True, active=True).exclude(key_hash__in=wanted).update(
        active=False
    )
    _environment_keys_synced = True
    forget_keys_check()


def keys_required() -> bool:
    """Whether any active key exists, read at most once a second per process.

    It changes only when an operator creates the first key or revokes the last one, yet keyless
    requests asked on every call, which cost as much as the request's own query. A key created
    in this process is seen at once (see IliosConfig.ready); another process sees it within
    KEYS_CHECK_SECONDS.
    """
    global _keys_required, _keys_required_until
    if not _environment_keys_synced:
        sync_environment_keys()
    if time.monotonic() >= _keys_required_until:
        _keys_required = ApiKey.objects.filter(active=True).exists()
        _keys_required_until = time.monotonic() + KEYS_CHECK_SECONDS
    return _keys_required


def forget_keys_check(**signal_kwargs) -> None:
    """Ask the database again on the next request: a key was created, changed or revoked."""
    global _keys_required_until
    _keys_required_until = 0.0
    _verified.clear()


def presented_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.META.get("HTTP_X_API_KEY") or request.GET.get("apiKey") or None


def authenticate_key(raw_key: str) -> ApiKey | None:
    """The active key whose keyed hash matches, or None.

    Every request still computes the HMAC (hash_key); only the row it found is remembered, for
    KEYS_CHECK_SECONDS, instead of being read again on each request of a busy client. Only keys
    that matched an active row are kept, so guesses cannot fill the memory, and nothing secret is
    (the HMAC is what the database holds). A key revoked or changed through the ORM in this
    process is forgotten at once (IliosConfig.ready, the admin's revoke action); in another
    process it keeps working for at most KEYS_CHECK_SECONDS, as `keys_required` already does.
    """
    if not _environment_keys_synced:
        sync_environment_keys()
    digest = hash_key(raw_key)
    remembered = _verified.get(digest)
    if remembered and time.monotonic() < remembered[1]:
        key = remembered[0]
    else:
        key = ApiKey.objects.filter(key_hash=digest, active=True).first()
        if key is None:
            _verified.pop(digest, None)
            return None
        _verified[digest] = (key, time.monotonic() + KEYS_CHECK_SECONDS)
    if key.last_used_at is None or key.last_used_at < timezone.now() - LAST_USED_RESOLUTION:
        key.last_used_at = timezone.now()
        ApiKey.objects.filter(id=key.id).update(last_used_at=key.last_used_at)
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw_key = presented_key(request)
        if raw_key is None:
            return None
        key = authenticate_key(raw_key)
        if key is None:
            if not keys_required():
                return None  # an open server ignores it, as the original did: clients send one
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="ilios"'


class HasApiKeyWhenRequired(permissions.BasePermission):
    """Open when no key is configured at all; otherwise every request needs a valid key."""

    message = "an API key is required: send Authorization: Bearer <key>"

    def has_permission(self, request, view):
        return request.auth is not None or not keys_required()


def warn_when_open() -> None:
    """Say loudly at start-up that anyone who can reach the API may use it."""
    try:
        open_api = not keys_required()
    except DatabaseError:
        return  # not migrated yet; the first request will tell
    if open_api:
        logger.warning(
            "No API key is configured: the API is open to anyone who can reach it. "
            "Set API_KEY or create a key with `manage.py create_api_key`."
        )
