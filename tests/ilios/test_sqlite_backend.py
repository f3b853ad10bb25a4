"""The SQLite backend's BEGIN: it waits for another writer's transaction, then starts; it gives
up with SQLite's own error once the connection's timeout has passed. The threads of a process
take turns on a lock of their own, and every transaction of every thread and process commits."""

import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, connections, transaction

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


def add_one(key_id: int) -> None:
    """Read, then write one more: two of these interleaved would lose an update."""
    with transaction.atomic():
        key = ApiKey.objects.get(id=key_id)
        key.name = str(int(key.name) + 1)
        key.save(update_fields=["name"])


def add_in_threads(key_id: int, threads: int, each: int) -> None:
    def run():
        try:
            for _ in range(each):
                add_one(key_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(run) for _ in range(threads)]:
            future.result()


def test_every_transaction_of_every_thread_and_process_commits_once():
    key, _ = ApiKey.generate("0")
    connections.close_all()  # the children open their own
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                add_in_threads(key.id, threads=8, each=25)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    add_in_threads(key.id, threads=8, each=25)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0, "a child's transaction failed"
    assert ApiKey.objects.get(id=key.id).name == str(3 * 8 * 25)


@pytest.fixture
def neighbour():
    """Another thread of this process, inside a write transaction (in which it adds the key
    "first") until its `release` is set; started by calling the fixture."""
    inside, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                ApiKey.generate("first")
                inside.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)

    def start() -> threading.Thread:
        holder.start()
        inside.wait(5)
        holder.release = release
        return holder

    yield start
    release.set()
    holder.join()


def test_a_thread_waits_for_its_process_neighbour_to_commit(neighbour):
    connection.ensure_connection()
    release = neighbour().release
    threading.Timer(0.2, release.set).start()
    with transaction.atomic():
        assert release.is_set(), "the transaction began only after the neighbour's ended"
        assert ApiKey.objects.filter(name="first").exists()
        ApiKey.generate("second")


def test_waiting_for_a_neighbour_fails_as_sqlite_does_once_the_timeout_has_passed(
    short_timeout, neighbour
):
    holder = neighbour()
    try:
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            pass
    finally:
        holder.release.set()
        holder.join()
    with transaction.atomic():
        ApiKey.generate("once the neighbour has committed")
