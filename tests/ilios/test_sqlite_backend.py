"""The SQLite backend's BEGIN: it waits for another writer's transaction, then starts; it gives
up with SQLite's own error once the connection's timeout has passed."""

import sqlite3
import threading

import pytest
from django.db import OperationalError, connection, transaction

from ilios.models import ApiKey

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock"),
]


@pytest.fixture
def other_writer():
    """Another process's connection to the same database, in a transaction of its own."""
    writer = sqlite3.connect(
        connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False
    )
    writer.execute("BEGIN IMMEDIATE")
    yield writer
    writer.close()


def busy_timeout_ms() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        return cursor.fetchone()[0]


def test_it_starts_once_the_other_writer_commits(other_writer):
    connection.ensure_connection()
    waiting = threading.Timer(0.2, other_writer.commit)
    waiting.start()
    with transaction.atomic():
        assert not waiting.is_alive(), "the transaction began only after the other committed"
        ApiKey.generate("after the other writer")
    waiting.join()
    assert ApiKey.objects.filter(name="after the other writer").exists()
    assert busy_timeout_ms() == 30_000, "plain statements keep SQLite's own busy timeout"


@pytest.fixture
def short_timeout(monkeypatch):
    """This connection's timeout is 50 ms (a fresh connection for the next test)."""
    connection.ensure_connection()
    monkeypatch.setattr(connection, "lock_timeout", 0.05)
    yield
    connection.close()


def test_it_fails_as_sqlite_does_once_the_timeout_has_passed(other_writer, short_timeout):
    with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
        pass
    assert busy_timeout_ms() == 50, "plain statements keep the connection's busy timeout"
