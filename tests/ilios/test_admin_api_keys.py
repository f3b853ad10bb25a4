"""API keys in the admin and from the command line: the raw key is shown once, only hashed."""

import re
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse

from ilios.models import ApiKey, hash_key

pytestmark = pytest.mark.django_db

RAW_KEY = re.compile(rb'id="raw-api-key"[^>]*>(ilios_[\w-]+)<')


def create_in_admin(client, name: str) -> tuple[ApiKey, str, bytes]:
    response = client.post(reverse("admin:ilios_apikey_add"), {"name": name})
    assert response.status_code == 200
    raw_key = RAW_KEY.search(response.content).group(1).decode()
    return ApiKey.objects.get(name=name), raw_key, response.content


def test_creating_a_key_shows_the_raw_key_once_and_stores_only_its_hash(admin_client):
    key, raw_key, _ = create_in_admin(admin_client, "billing service")
    assert key.key_hash == hash_key(raw_key)
    assert raw_key.startswith(key.prefix)
    stored = [str(value) for value in ApiKey.objects.values().get(id=key.id).values()]
    assert not any(raw_key in value for value in stored)
    for url in (
        reverse("admin:ilios_apikey_changelist"),
        reverse("admin:ilios_apikey_change", args=[key.id]),
    ):
        assert raw_key.encode() not in admin_client.get(url).content


def test_the_created_page_is_not_cached(admin_client):
    response = admin_client.post(reverse("admin:ilios_apikey_add"), {"name": "x"})
    assert "no-store" in response["Cache-Control"]


def test_a_key_created_in_the_admin_opens_the_api(admin_client, api):
    _, raw_key, _ = create_in_admin(admin_client, "client")
    assert api.get("/v1/documents").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/v1/documents").status_code == 200


def test_last_use_is_shown_in_the_key_list(admin_client, api):
    key, raw_key, _ = create_in_admin(admin_client, "client")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    api.get("/v1/documents")
    key.refresh_from_db()
    assert key.last_used_at is not None
    changelist = admin_client.get(reverse("admin:ilios_apikey_changelist"))
    assert changelist.context["cl"].result_list[0].last_used_at == key.last_used_at
    assert b"column-last_used_at" in changelist.content


def test_revoking_twice_revokes_once_and_closes_the_api_to_the_key(admin_client, api):
    key, raw_key, _ = create_in_admin(admin_client, "leaked")
    ApiKey.generate("still in use")
    changelist = reverse("admin:ilios_apikey_changelist")
    form = {"action": "revoke", ACTION_CHECKBOX_NAME: [key.id]}
    first = admin_client.post(changelist, form, follow=True)
    second = admin_client.post(changelist, form, follow=True)
    assert [str(m) for m in first.context["messages"]] == ["Revoked 1 API key(s)."]
    assert [str(m) for m in second.context["messages"]] == ["Revoked 0 API key(s)."]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/v1/documents").status_code == 401


def test_revoking_leaves_keys_from_the_environment_and_says_why(admin_client):
    from_environment = ApiKey.objects.create(
        name="API_KEY #1", prefix="abc", key_hash=hash_key("abc"), from_environment=True
    )
    response = admin_client.post(
        reverse("admin:ilios_apikey_changelist"),
        {"action": "revoke", ACTION_CHECKBOX_NAME: [from_environment.id]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "remove them from API_KEY instead" in messages[1]
    from_environment.refresh_from_db()
    assert from_environment.active


def test_the_create_api_key_command_prints_the_key_once(capsys):
    out = StringIO()
    call_command("create_api_key", "nightly import", stdout=out, stderr=StringIO())
    raw_key = out.getvalue().strip()
    assert re.fullmatch(r"ilios_[\w-]{40,}", raw_key)
    key = ApiKey.objects.get(name="nightly import")
    assert key.key_hash == hash_key(raw_key)
    assert key.active
