import pytest

from ilios.models import ApiKey


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
