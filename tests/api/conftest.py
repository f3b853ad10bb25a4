import pytest

from ilios import auth
from ilios.models import ApiKey


@pytest.fixture(autouse=True)
def _fresh_key_sync(monkeypatch):
    """Each test configures API_KEY its own way; re-read it on the next request."""
    monkeypatch.setattr(auth, "_environment_keys_synced", False)


@pytest.fixture
def key_a(db) -> str:
    return ApiKey.generate("team A")[1]


@pytest.fixture
def key_b(db) -> str:
    return ApiKey.generate("team B")[1]


@pytest.fixture
def client_a(api, key_a):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_a}")
    return api
