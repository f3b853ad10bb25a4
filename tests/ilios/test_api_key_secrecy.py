"""API keys in the database: a keyed hash a stolen copy cannot be tested against, a prefix that
is never the key, and keys stored by earlier versions still working after the upgrade."""

import hashlib
import importlib

import pytest
from django.apps import apps

from ilios import auth
from ilios.models import ApiKey, hash_key, key_prefix

pytestmark = pytest.mark.django_db

upgrade = importlib.import_module("ilios.migrations.0003_keyed_api_key_hashes")


def test_the_stored_hash_needs_the_servers_secret(settings):
    key = ApiKey.generate("client")[1]
    stored = ApiKey.objects.get().key_hash
    assert stored != hashlib.sha256(key.encode()).hexdigest(), "a plain hash can be brute-forced"

    settings.SECRET_KEY = "another server's secret, as a thief would have to guess it"
    assert hash_key(key) != stored
    assert auth.authenticate_key(key) is None


@pytest.mark.parametrize("raw_key", ["0123456789abcdef", "x" * 40, "ilios_" + "k" * 43])
def test_a_prefix_is_never_more_than_a_quarter_of_its_key(raw_key):
    prefix = key_prefix(raw_key)
    assert raw_key.startswith(prefix)
    assert len(prefix) <= len(raw_key) // 4


def test_keys_from_the_environment_keep_only_a_short_prefix(api, settings):
    settings.API_KEY = "0123456789abcdef"
    assert api.get("/v1/documents", HTTP_AUTHORIZATION="Bearer 0123456789abcdef").status_code == 200
    assert ApiKey.objects.get().prefix == "0123"


def legacy_row(raw_key: str, name: str, from_environment: bool = False) -> ApiKey:
    """A key as earlier versions stored it: a plain SHA-256, and its first 6 characters (12
    for a key created by Ilios)."""
    return ApiKey.objects.create(
        name=name,
        prefix=raw_key[: 6 if from_environment else 12],
        key_hash=hashlib.sha256(raw_key.encode()).hexdigest(),
        from_environment=from_environment,
    )


def test_keys_stored_before_the_upgrade_keep_working(api):
    created = "ilios_" + "q" * 43
    legacy_row(created, name="created in the admin")

    upgrade.keyed_hashes(apps, schema_editor=None)

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created}")
    assert api.get("/v1/documents").status_code == 200
    assert ApiKey.objects.get().prefix == created[:12], "a created key's prefix is kept"


def test_the_upgrade_erases_prefixes_that_were_whole_keys(api, settings):
    legacy_row("short", name="API_KEY #1", from_environment=True)
    legacy_row("a-long-environment-key", name="API_KEY #2", from_environment=True)

    upgrade.keyed_hashes(apps, schema_editor=None)

    assert set(ApiKey.objects.values_list("prefix", flat=True)) == {""}
    settings.API_KEY = "a-long-environment-key"
    response = api.get("/v1/documents", HTTP_AUTHORIZATION="Bearer a-long-environment-key")
    assert response.status_code == 200
    assert ApiKey.objects.get(name="API_KEY #2").prefix == "a-lon", "written again at start"
    assert not ApiKey.objects.get(name="API_KEY #1").active
